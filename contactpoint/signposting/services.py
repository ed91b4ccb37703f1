"""The targeted scope's review: archive children who have left it, restore those who came back."""

import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records.selectors import children_known_to_services

from .models import ScopeArchive
from .scope import grace_cutoff, targeted


@transaction.atomic
def scope_review(*, today: datetime.date | None = None) -> dict[str, int]:
    """Run daily in a targeted deployment. Archived records stay (retention rules destroy them
    later); the door no longer shows them. Audited with the IDs affected."""
    if not targeted():
        return {"archived": 0, "restored": 0}
    from contactpoint.records.models import Child

    cutoff = grace_cutoff(today)
    live = Child.objects.filter(merged_into__isnull=True)
    known = children_known_to_services(cutoff=cutoff)
    archived = set(ScopeArchive.objects.values_list("child_id", flat=True))
    leaving = list(live.exclude(Q(pk__in=known) | Q(pk__in=archived)).values_list("pk", "contactpoint_id"))
    returning = list(
        Child.objects.filter(pk__in=archived).filter(pk__in=known).values_list("pk", "contactpoint_id")
    )
    now = timezone.now()
    ScopeArchive.objects.bulk_create(
        [
            ScopeArchive(child_id=pk, archived_at=now, reason="no longer known to services")
            for pk, _ in leaving
        ]
    )
    ScopeArchive.objects.filter(child_id__in=[pk for pk, _ in returning]).delete()
    if leaving or returning:
        audit_record(
            event_type=EventType.ADMIN,
            username="scope review",
            child_ids=[cp for _, cp in leaving + returning],
            details={
                "action": "scope_review",
                "archived": [cp for _, cp in leaving],
                "restored": [cp for _, cp in returning],
            },
        )
    return {"archived": len(leaving), "restored": len(returning)}


def child_archived(child_id: int) -> bool:
    return ScopeArchive.objects.filter(child_id=child_id).exists()


def children_archived(child_ids: list[int]) -> set[int]:
    """Which of these children left the scope (a search leaves them out, as the record refuses them)."""
    return set(ScopeArchive.objects.filter(child_id__in=child_ids).values_list("child_id", flat=True))
