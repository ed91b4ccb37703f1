"""The targeted scope's review: archive children who have left it, restore those who came back.

The archive is retention's (docs/retention.md), with its own basis: one archive state for the door
to check, and one set of rules for who may open an archived record and when it is destroyed.
"""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records.selectors import children_known_to_services
from contactpoint.retention.models import ArchiveBasis, ChildRetention, RetentionState
from contactpoint.retention.services import children_archive_left_scope, children_restore_to_scope

from .scope import grace_cutoff, targeted


@transaction.atomic
def scope_review(*, today: datetime.date | None = None) -> dict[str, int]:
    """Run daily in a targeted deployment; audited with the IDs affected. A child archived on
    another basis (age, death) is neither archived again nor restored by it."""
    if not targeted():
        return {"archived": 0, "restored": 0}
    from contactpoint.records.models import Child

    today = today or timezone.localdate()
    known = children_known_to_services(cutoff=grace_cutoff(today))
    archived = ChildRetention.objects.filter(state=RetentionState.ARCHIVED)
    leaving = dict(
        Child.objects.filter(merged_into__isnull=True)
        .exclude(Q(pk__in=known) | Q(pk__in=archived.values("child_id")))
        .values_list("pk", "contactpoint_id")
    )
    candidates = list(
        archived.filter(archive_basis=ArchiveBasis.LEFT_SCOPE, child_id__in=known).values_list(
            "child_id", flat=True
        )
    )
    children_archive_left_scope(child_pks=list(leaving), on=today)
    restored = children_restore_to_scope(child_pks=candidates, today=today)
    codes = dict(Child.objects.filter(pk__in=restored).values_list("pk", "contactpoint_id"))
    if leaving or restored:
        audit_record(
            event_type=EventType.ADMIN,
            username="scope review",
            child_ids=list(leaving.values()) + list(codes.values()),
            details={
                "action": "scope_review",
                "archived": list(leaving.values()),
                "restored": list(codes.values()),
                "archived_on": today.isoformat(),
                "basis": ArchiveBasis.LEFT_SCOPE,
            },
        )
    return {"archived": len(leaving), "restored": len(restored)}
