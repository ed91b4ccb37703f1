"""Reads of reference data, aggregate counts, and the facts misuse rules compare (never shown).

Reads of a child's record for display go through access.door.
"""

import datetime
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from . import sealed
from .models import (
    Carer,
    Child,
    ChildAddress,
    ChildIdentifier,
    ChildName,
    IdentifierScheme,
    Involvement,
    Organisation,
)

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


@dataclass(frozen=True)
class ChildMatchFacts:
    """What misuse detection compares with the user searching: names and postcodes of the child
    and its carers (casefolded, postcodes without spaces), its area, and who works with it.

    A data-layer read for the audit app's rules; it never leaves the server and is never shown.
    """

    family_names: frozenset[str]
    postcodes: frozenset[str]
    local_authority: str
    involved_organisations: frozenset[str]


def normal_postcode(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def children_match_facts(contactpoint_ids: Iterable[str]) -> dict[str, ChildMatchFacts]:
    wanted = set(contactpoint_ids)
    if not wanted:
        return {}
    live = {"child__contactpoint_id__in": wanted, "superseded_at__isnull": True}
    names: dict[str, set[str]] = defaultdict(set)
    postcodes: dict[str, set[str]] = defaultdict(set)
    areas: dict[str, str] = {}
    involved: dict[str, set[str]] = defaultdict(set)
    for row in sealed.values_opened(ChildName.objects.filter(**live), "child__contactpoint_id"):
        names[row["child__contactpoint_id"]].add((row["family_name"] or "").casefold())
    for row in sealed.values_opened(Carer.objects.filter(**live), "child__contactpoint_id"):
        cp_id = row["child__contactpoint_id"]
        names[cp_id].add((row["family_name"] or "").casefold())
        postcodes[cp_id].add(normal_postcode(row["postcode"] or ""))
    chosen = ChildAddress.objects.filter(**live, is_chosen=True)
    for row in sealed.values_opened(chosen, "child__contactpoint_id", "local_authority__code"):
        cp_id = row["child__contactpoint_id"]
        postcodes[cp_id].add(normal_postcode(row["postcode"] or ""))
        areas[cp_id] = row["local_authority__code"] or ""
    for cp_id, organisation in Involvement.objects.filter(**live).values_list(
        "child__contactpoint_id", "organisation__code"
    ):
        involved[cp_id].add(organisation)
    return {
        cp_id: ChildMatchFacts(
            family_names=frozenset(names[cp_id] - {""}),
            postcodes=frozenset(postcodes[cp_id] - {""}),
            local_authority=areas.get(cp_id, ""),
            involved_organisations=frozenset(involved[cp_id]),
        )
        for cp_id in Child.objects.filter(contactpoint_id__in=wanted).values_list(
            "contactpoint_id", flat=True
        )
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
    version: str  # carried through the pages, so a change made meanwhile is not overwritten


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
        .select_related("practitioner", "source")
        .order_by("-asserted_at", "-pk")
        .first()
    )


def involvement_version(involvement: Involvement | None) -> str:
    """A fingerprint of everything a change could alter: the API's ETag, the pages' hidden field.

    Every change supersedes the row, so the id alone would do; the fields make a version computed
    from a stale copy of the same row differ too. No involvement at all has the empty version.
    """
    if involvement is None:
        return ""
    state = (
        involvement.pk,
        involvement.start_date,
        involvement.end_date,
        involvement.has_caf,
        involvement.is_lead_professional,
        involvement.practitioner_id,
        involvement.superseded_at,
    )
    return hashlib.sha256(repr(state).encode()).hexdigest()[:32]


def involvement_live_successor(*, child: Child, involvement_id: int) -> Involvement | None:
    """The live row of the assertion an involvement id belongs to: itself while it is live, else the
    row that superseded it under the same source and source record id (a caller's stored id keeps
    working after a change). None for an id this child never had."""
    asked = Involvement.objects.filter(pk=involvement_id, child=child).values("source_id", "source_record_id")
    keys = asked.first()
    if keys is None:
        return None
    return (
        Involvement.objects.filter(child=child, superseded_at__isnull=True, **keys)
        .select_related("organisation", "source", "practitioner")
        .order_by("-asserted_at", "-pk")
        .first()
    )


def involvement_live_id(*, child: Child, involvement_id: int) -> int | None:
    """The id an involvement id stands for now (a stored id keeps working after changes)."""
    live = involvement_live_successor(child=child, involvement_id=involvement_id)
    return live.pk if live is not None else None


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
        version=involvement_version(own),
    )


def organisation_by_kind_code(kind: str, code: str) -> Organisation | None:
    return Organisation.objects.filter(kind=kind, code=code).first()


# Facts the notifier compares before and after a change, and who works with a child: never shown,
# only used to decide which events happened and whom to ask the door about.


def chosen_address_facts(child_pks: Iterable[int]) -> list[tuple[int, int | None, str, str]]:
    """(child, the address's own local authority, postcode, status) of each child's chosen address."""
    chosen = ChildAddress.objects.filter(child_id__in=list(child_pks), is_chosen=True)
    return [
        (row["child_id"], row["local_authority_id"], row["postcode"] or "", row["status"])
        for row in sealed.values_opened(chosen, "child_id", "local_authority_id", "status")
    ]


def live_involvements(child_pks: Iterable[int], *, today: datetime.date | None = None):
    """Involvements not superseded and not yet ended, with their practitioners."""
    today = today or datetime.date.today()
    return (
        Involvement.objects.filter(child_id__in=list(child_pks), superseded_at__isnull=True)
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=today))
        .select_related("practitioner")
    )


def children_known_to_services(*, cutoff: datetime.date):
    """Child keys with an involvement not ended before `cutoff`, or a local authority as a carer
    (looked after): the targeted scope's test (signposting.scope)."""
    recent = Q(end_date__isnull=True) | Q(end_date__gte=cutoff)
    involved = Involvement.objects.filter(recent, superseded_at__isnull=True).values("child_id")
    looked_after = Carer.objects.filter(
        recent, relationship="local_authority", superseded_at__isnull=True
    ).values("child_id")
    return Child.objects.filter(Q(pk__in=involved) | Q(pk__in=looked_after)).values("pk")
