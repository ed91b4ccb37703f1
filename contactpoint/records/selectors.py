"""Reads of reference data and aggregate counts. Reads of a child's own data go through access."""

from django.db.models import Q

from .models import Child, ChildIdentifier, IdentifierScheme, Involvement, Organisation


def index_statistics() -> dict[str, int]:
    return {
        "children": Child.objects.count(),
        "organisations": Organisation.objects.count(),
        "with_nhs_number": ChildIdentifier.objects.filter(
            scheme=IdentifierScheme.NHS_NUMBER, superseded_at__isnull=True
        )
        .values("child")
        .distinct()
        .count(),
        "active_involvements": Involvement.objects.filter(
            Q(end_date__isnull=True), superseded_at__isnull=True
        ).count(),
    }


def child_by_contactpoint_id(*, contactpoint_id: str) -> Child | None:
    """The child to hand to the access door. Finding a child by ID reveals nothing about them."""
    return Child.objects.filter(contactpoint_id=contactpoint_id.strip().upper()).first()
