"""Everything the index holds about one child, as plain data (the data layer of subject access).

Only `access.door.subject_access_for` calls this: it decides who may have it and audits the
export. Every assertion is listed, chosen or superseded, with its source, the source's record id
and its dates, because a subject access request is owed all of it, not the current view.
"""

import datetime
from typing import Any

from django.db import models

from contactpoint.feeds.models import SourceRecord, SourceRecordVersion
from contactpoint.records import sealed
from contactpoint.records.models import (
    Carer,
    Child,
    ChildAddress,
    ChildBirthDate,
    ChildGender,
    ChildIdentifier,
    ChildName,
    EducationSetting,
    GPRegistration,
    Involvement,
)
from contactpoint.records.statutory import STATUTORY_FIELDS

ITEMS: tuple[Any, ...] = (  # concrete ChildItem models
    ChildName,
    ChildGender,
    ChildBirthDate,
    ChildAddress,
    ChildIdentifier,
    Carer,
    EducationSetting,
    GPRegistration,
    Involvement,
)
FEED_FIELDS = sorted(STATUTORY_FIELDS["SourceRecord"] - {"extras"})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    return value


def child_items(child: Child) -> dict[str, list[dict[str, Any]]]:
    """Per statutory item, every assertion about the child (oldest first) with its provenance."""
    held: dict[str, list[dict[str, Any]]] = {}
    for model in ITEMS:
        fields = sorted(STATUTORY_FIELDS[model.__name__])
        rows = []
        held_rows = model._default_manager.filter(child=child)
        secret = sealed.sealed_fields(model)
        opened = {r["pk"]: r for r in sealed.values_opened(held_rows)} if secret else {}
        for row in held_rows.select_related("source").order_by("asserted_at", "pk"):
            rows.append(
                {
                    "values": {
                        f: _plain(opened[row.pk][f] if f in secret else getattr(row, f)) for f in fields
                    },
                    "source": row.source.code,
                    "source_record_id": row.source_record_id,
                    "asserted_at": _plain(row.asserted_at),
                    "recorded_at": _plain(row.recorded_at),
                    "superseded_at": _plain(row.superseded_at),
                    "current": getattr(row, "is_chosen", row.superseded_at is None),
                }
            )
        if rows:
            held[model.__name__] = rows
    return held


def child_source_records(child: Child) -> list[dict[str, Any]]:
    """What each source sent, as loaded, with every earlier account it replaced."""
    records = sealed.values_opened(
        SourceRecord.objects.filter(child=child).order_by("pk"),
        "source__code",
        "source_record_id",
        "asserted_at",
        "withdrawn_at",
        *FEED_FIELDS,
    )
    earlier: dict[int, list[dict[str, Any]]] = {row["pk"]: [] for row in records}
    versions = SourceRecordVersion.objects.filter(record__child=child).order_by("pk")
    for version in sealed.values_opened(versions, "record_id", "asserted_at"):
        earlier[version["record_id"]].append(
            {"asserted_at": _plain(version["asserted_at"]), "values": version["values"]}
        )
    return [
        {
            "source": record["source__code"],
            "source_record_id": record["source_record_id"],
            "asserted_at": _plain(record["asserted_at"]),
            "withdrawn_at": _plain(record["withdrawn_at"]),
            "values": {f: _plain(record[f]) for f in FEED_FIELDS},
            "extras": record["extras"],
            "earlier": earlier[record["pk"]],
        }
        for record in records
    ]


def assertion_value(
    *, child: Child, item: str, field: str, source_code: str, source_record_id: str
) -> str | None:
    """The live value one source asserts for one field (None: that source asserts none)."""
    model = next((m for m in ITEMS if m.__name__ == item), None)
    if model is None or field not in STATUTORY_FIELDS[item]:
        return None
    row = (
        model._default_manager.filter(
            child=child,
            source__code=source_code,
            source_record_id=source_record_id,
            superseded_at__isnull=True,
        )
        .order_by("-pk")
        .first()
    )
    if row is None:
        return None
    if field in sealed.sealed_fields(model):
        (opened,) = sealed.values_opened(model._default_manager.filter(pk=row.pk))
        return str(_plain(opened[field]) or "")
    return str(_plain(getattr(row, field)) or "")


def child_everything(child: Child) -> dict[str, Any]:
    """The whole subject access answer, access history included (ids, roles and bodies: the log
    never held a child's name)."""
    from contactpoint.audit.selectors import child_access_history
    from contactpoint.retention.models import ChildRetention

    from .models import Rectification

    retention = ChildRetention.objects.filter(child=child).first()
    return {
        "contactpoint_id": child.contactpoint_id,
        "created_at": _plain(child.created_at),
        "items": child_items(child),
        "source_records": child_source_records(child),
        "retention": {
            "state": retention.state if retention else "live",
            "archived_on": _plain(retention.archived_on) if retention else None,
            "consent": retention.consent if retention else "",
            "consent_evidence": retention.consent_evidence if retention else "",
            "died_on": _plain(retention.died_on) if retention else None,
            "died_source": retention.died_source if retention else "",
        },
        "rectifications": [
            {
                "item": r.item,
                "field": r.field,
                "source": r.source.code,
                "current_value": r.current_value,
                "corrected_value": r.corrected_value,
                "requested_by": r.requested_by,
                "recorded_at": _plain(r.recorded_at),
            }
            for r in Rectification.objects.filter(child=child).select_related("source").order_by("pk")
        ],
        "access_history": [
            {
                "occurred_at": _plain(e.occurred_at),
                "event": e.event_type,
                "outcome": e.outcome,
                "role": e.actor_role,
                "organisation": e.actor_organisation,
                "reason": e.reason,
            }
            for e in child_access_history(child_id=child.contactpoint_id)
        ],
    }
