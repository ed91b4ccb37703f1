"""Reads of reference data and aggregate counts. Reads of a child's own data go through access."""

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from .models import Child, ChildIdentifier, IdentifierScheme, Involvement, Organisation

if TYPE_CHECKING:
    from contactpoint.access.actors import Actor


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


@dataclass(frozen=True)
class OwnInvolvement:
    """The signed-in practitioner's own involvement with a child: theirs to see and change."""

    service_type: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    job_title: str
    phone: str
    email: str
    is_lead_professional: bool
    has_caf: bool


def users_source_code(organisation: Organisation) -> str:
    """The source that asserts what an organisation's users record themselves."""
    return f"contactpoint-users-{organisation.pk}"


def own_record_id(actor: "Actor", child: Child) -> str:
    return f"user-{actor.user_id}-{child.contactpoint_id}"


def own_involvement_row(*, actor: "Actor", child: Child) -> Involvement | None:
    """For the data layer's services only; pages get `own_involvement`."""
    return (
        Involvement.objects.filter(
            child=child,
            source__code=users_source_code(actor.organisation),
            source_record_id=own_record_id(actor, child),
            superseded_at__isnull=True,
        )
        .select_related("practitioner")
        .first()
    )


def own_involvement(*, actor: "Actor", child: Child) -> OwnInvolvement | None:
    own = own_involvement_row(actor=actor, child=child)
    if own is None:
        return None
    practitioner = own.practitioner
    return OwnInvolvement(
        service_type=own.service_type,
        start_date=own.start_date,
        end_date=own.end_date,
        job_title=practitioner.job_title if practitioner else "",
        phone=practitioner.phone if practitioner else "",
        email=practitioner.email if practitioner else "",
        is_lead_professional=own.is_lead_professional,
        has_caf=own.has_caf,
    )
