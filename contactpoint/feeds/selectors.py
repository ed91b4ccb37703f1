"""Reads for the feed pages: load reports and the quarantine, scoped to who is asking.

Data managers see every load. A local authority's team sees the loads that concern its area:
those from a source an organisation in its area runs, and those with quarantined rows naming an
organisation in its area (a school, GP practice or service). Source records carry no area of
their own and postcodes are not mapped to authorities (ADR 0008), so the organisations a row
names are where an authority recognises it.

A quarantined row is an account of a person the index did not take in. Its page shows the row's
names and date of birth (what decided most quarantine reasons, and what a shield leaves visible
anyway), its reasons and warnings; never its address, identifiers or contacts. Each showing is
audited, in the same transaction, like any other view of personal data.
"""

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from contactpoint.access import permissions
from contactpoint.access.actors import Actor
from contactpoint.access.policies import HasPermission, Where
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records.models import Organisation

from . import sealed
from .columns import ORGANISATION
from .models import FeedFile, QuarantinedRow, QuarantineStatus

# What a quarantined row's page shows of its values.
SHOWN_COLUMNS = ("given_name", "middle_names", "family_name", "date_of_birth")


MAY_SUBMIT_FEED = HasPermission(permissions.MANAGE_FEEDS) & Where(
    lambda actor, source: source.organisation_id == actor.organisation.pk
)
"""Who may send a source's files (over the API or the pages): data managers of the body running it."""


def sees_every_area(actor: Actor) -> bool:
    return actor.can(permissions.MANAGE_FEEDS)


def may_read_feeds(actor: Actor) -> bool:
    return actor.can(permissions.MANAGE_FEEDS) or actor.can(permissions.READ_FEED_REPORTS_AREA)


def _area_codes(local_authority: Organisation) -> list[str]:
    return list(
        Organisation.objects.filter(Q(pk=local_authority.pk) | Q(local_authority=local_authority))
        .values_list("code", flat=True)
        .distinct()
    )


def _rows_in_area(local_authority: Organisation) -> Q:
    codes = _area_codes(local_authority)
    named = Q()
    for column in ORGANISATION:
        named |= Q(**{f"organisation_codes__{column}__in": codes})
    owned = Q(file__source__organisation=local_authority) | Q(
        file__source__organisation__local_authority=local_authority
    )
    return named | owned


def feed_files_for(*, actor: Actor) -> QuerySet[FeedFile]:
    """Loads the actor may read, newest first."""
    files = FeedFile.objects.select_related("source").order_by("-received_at", "-pk")
    if sees_every_area(actor):
        return files
    if not actor.can(permissions.READ_FEED_REPORTS_AREA):
        return files.none()
    area = actor.local_authority
    owned = Q(source__organisation=area) | Q(source__organisation__local_authority=area)
    quarantined_here = QuarantinedRow.objects.filter(_rows_in_area(area), file=OuterRef("pk"))
    return files.filter(owned | Exists(quarantined_here))


def quarantine_for(
    *, actor: Actor, file: FeedFile | None = None, status: str = ""
) -> QuerySet[QuarantinedRow]:
    """Quarantined rows the actor may see (in their area, or all for data managers)."""
    rows = QuarantinedRow.objects.select_related("file__source", "resolved_by_file").order_by(
        "-file__received_at", "file_id", "row_number"
    )
    if file is not None:
        rows = rows.filter(file=file)
    if status in QuarantineStatus.values:
        rows = rows.filter(status=status)
    if sees_every_area(actor):
        return rows
    if not actor.can(permissions.READ_FEED_REPORTS_AREA):
        return rows.none()
    return rows.filter(_rows_in_area(actor.local_authority))


@dataclass(frozen=True)
class QuarantineRowView:
    """One quarantined row as its page may show it."""

    pk: int
    source: str
    file_name: str
    received_at: datetime.datetime
    row_number: int
    source_record_id: str
    shown: dict[str, str]
    reasons: list[str]
    warnings: list[tuple[str, str, str]]
    status: str
    resolved_by: str


@transaction.atomic
def quarantine_rows_show(
    *, actor: Actor, rows: list[QuarantinedRow], client: str = ""
) -> list[QuarantineRowView]:
    """The rows as plain values, audited as one view; rows outside the actor's scope are refused."""
    allowed = set(
        quarantine_for(actor=actor).filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True)
    )
    if len(allowed) != len({row.pk for row in rows}):
        raise PermissionError("Some of these quarantined rows are outside your area.")
    if not rows:
        return []
    audit_record(
        event_type=EventType.ADMIN,
        actor=actor,
        client=client,
        details={
            "action": "quarantine_viewed",
            "rows": sorted(row.pk for row in rows),
            "files": sorted({row.file_id for row in rows}),
        },
    )
    return [_view(row) for row in rows]


def _view(row: QuarantinedRow) -> QuarantineRowView:
    opened = sealed.row_open(row)
    values: dict[str, Any] = opened["values"]
    return QuarantineRowView(
        pk=row.pk,
        source=row.file.source.name,
        file_name=row.file.name,
        received_at=row.file.received_at,
        row_number=row.row_number,
        source_record_id=row.source_record_id,
        shown={column: str(values[column]) for column in SHOWN_COLUMNS if values.get(column)},
        reasons=list(row.reasons or []),
        warnings=[(str(w[0]), str(w[1]), str(w[2])) for w in opened["warnings"]],
        status=QuarantineStatus(row.status).label,
        resolved_by=row.resolved_by_file.name if row.resolved_by_file else "",
    )


def quarantine_counts(*, actor: Actor) -> dict[str, int]:
    """Open and resolved rows in the actor's scope."""
    rows = quarantine_for(actor=actor)
    return {status: rows.filter(status=status).count() for status in QuarantineStatus.values}
