"""The audit reports by name, their rows, and their CSV export (itself an audited export).

The web views and the `audit_report` command both go through here, so a report reads the same
and is exported the same way whichever door it leaves by.
"""

import csv
import datetime
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from contactpoint.access.actors import Actor

from . import selectors
from .models import AuditEvent, EventType
from .selectors import AuditScope, Period
from .services import audit_record


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...


@dataclass(frozen=True)
class ReportKind:
    code: str
    title: str
    needs: str  # "child", "user" or "" (a period only)
    rows: Callable[..., Iterable[AuditEvent]]


REPORTS: dict[str, ReportKind] = {
    kind.code: kind
    for kind in (
        ReportKind("access_history", "Who viewed this child", "child", selectors.child_access_history),
        ReportKind("user_activity", "What this user did", "user", selectors.user_activity),
        ReportKind(
            "searches_returning", "Searches that returned this child", "child", selectors.searches_returning
        ),
        ReportKind("break_glass", "Break-glass uses", "", selectors.break_glass_uses),
        ReportKind("exports", "Exports", "", selectors.exports),
    )
}

COLUMNS = (
    "event_id",
    "occurred_at",
    "event_type",
    "outcome",
    "actor_username",
    "actor_user_id",
    "actor_role",
    "actor_organisation",
    "actor_local_authority",
    "on_behalf_of",
    "reason",
    "child_ids",
    "details",
    "client",
)


@dataclass(frozen=True)
class ReportRequest:
    kind: ReportKind
    child_id: str = ""
    username: str = ""
    period: Period = field(default_factory=Period)

    def filters(self) -> dict[str, str]:
        """What the report was asked for, as recorded in the export's own audit event."""
        wanted = {
            "child": self.child_id,
            "user": self.username,
            "since": self.period.since.isoformat() if self.period.since else "",
            "until": self.period.until.isoformat() if self.period.until else "",
        }
        return {key: value for key, value in wanted.items() if value}


def report_request(
    *, kind: str, child_id: str = "", username: str = "", since: str = "", until: str = ""
) -> ReportRequest:
    """Check a report's name and filters, saying exactly what is wrong with them."""
    report = REPORTS.get(kind)
    if report is None:
        raise ValidationError(f"Unknown report {kind!r}; choose one of: {', '.join(REPORTS)}.")
    child_id, username = child_id.strip(), username.strip()
    if report.needs == "child" and not child_id:
        raise ValidationError(f"The {kind} report needs a child's ContactPoint ID.")
    if report.needs == "user" and not username:
        raise ValidationError(f"The {kind} report needs a username.")
    period = Period(since=moment(since, "since"), until=moment(until, "until", end_of_day=True))
    if period.since and period.until and period.since >= period.until:
        raise ValidationError("The start of the period must be before its end.")
    return ReportRequest(
        report,
        child_id=child_id if report.needs == "child" else "",
        username=username if report.needs == "user" else "",
        period=period,
    )


def moment(value: str, name: str, *, end_of_day: bool = False) -> datetime.datetime | None:
    """A date (YYYY-MM-DD, local time; an end date includes its whole day) or an ISO date-time."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
        day = None if parsed else parse_date(value)
    except ValueError:
        parsed = day = None
    if parsed is None and day is None:
        raise ValidationError(f"{name} must be a date (YYYY-MM-DD) or a date and time, not {value!r}.")
    if day is not None:
        parsed = datetime.datetime.combine(day + datetime.timedelta(days=end_of_day), datetime.time())
    assert parsed is not None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


def report_rows(request: ReportRequest, scope: AuditScope) -> Iterable[AuditEvent]:
    arguments: dict[str, Any] = {"scope": scope, "period": request.period}
    if request.kind.needs == "child":
        arguments["child_id"] = request.child_id
    elif request.kind.needs == "user":
        arguments["username"] = request.username
    return request.kind.rows(**arguments)


def row_values(event: AuditEvent) -> list[str]:
    values = {
        "event_id": str(event.pk),
        "occurred_at": event.occurred_at.astimezone(datetime.UTC).isoformat(),
        "event_type": event.event_type,
        "outcome": event.outcome,
        "actor_username": event.actor_username,
        "actor_user_id": "" if event.actor_user_id is None else str(event.actor_user_id),
        "actor_role": event.actor_role,
        "actor_organisation": event.actor_organisation,
        "actor_local_authority": event.actor_local_authority,
        "on_behalf_of": event.on_behalf_of,
        "reason": event.reason,
        "child_ids": " ".join(event.child_ids),
        "details": json.dumps(event.details, sort_keys=True),
        "client": event.client,
    }
    return [_spreadsheet_safe(values[column]) for column in COLUMNS]


def _spreadsheet_safe(value: str) -> str:
    """A cell a spreadsheet would run as a formula is written as text (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv_write(
    *,
    request: ReportRequest,
    scope: AuditScope,
    out: Writable,
    actor: Actor | None = None,
    username: str = "",
    client: str = "",
) -> int:
    """Write the report as CSV and record the export; the export is audited like any other.

    The rows and the export event share a transaction: if the event cannot be written, the
    caller must not hand the file on (the command writes to a temporary file first).
    """
    with transaction.atomic():
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        count = 0
        for event in report_rows(request, scope):
            writer.writerow(row_values(event))
            count += 1
        audit_record(
            event_type=EventType.EXPORT,
            actor=actor,
            username=username,
            child_ids=[request.child_id] if request.child_id else [],
            client=client,
            details={
                "export": "audit_report",
                "report": request.kind.code,
                "filters": request.filters(),
                "scope": scope.local_authority or "all",
                "rows": count,
            },
        )
    return count
