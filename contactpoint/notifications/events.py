"""Raising events: written in the caller's transaction (the outbox), never sent from here.

Writers that change who works with a child or where the child lives wrap the change in
`changes_watched`: the state that events are about (the responsible area, the live involvements,
the lead professional) is read before and after, and the differences become events. One rule
serves every path — the pages, the API and the feeds' linkage — so none can forget to raise one.
Merges, shields and emergency lookups are single acts and raise their event directly.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import transaction

from contactpoint.records.models import AddressStatus, Child, ServiceType
from contactpoint.records.selectors import chosen_address_facts, live_involvements

from .models import EmergencyLookup, Event, EventKind, PostcodeDistrict

if TYPE_CHECKING:
    from contactpoint.access.actors import Actor

CHUNK = 2000


@dataclass(frozen=True)
class _Work:
    """One live involvement, keyed so that a re-assertion of the same work is the same key."""

    organisation_id: int
    service_type: str
    is_sensitive: bool
    is_lead: bool


@dataclass
class ChildState:
    area: int | None = None
    work: dict[tuple, _Work] = field(default_factory=dict)

    @property
    def lead(self) -> tuple | None:
        return next((key for key, work in self.work.items() if work.is_lead), None)


def postcode_district(postcode: str) -> str:
    parts = postcode.strip().upper().split()
    return parts[0] if len(parts) == 2 else ""


def areas_of(child_pks: Iterable[int]) -> dict[int, int | None]:
    """The responsible local authority of each child: where its chosen address lies.

    The address's own authority when its source gave one, else the postcode district's. A child
    with no fixed address, or who has left England, has no area here (the last area stays
    responsible in practice, which the authority's team decides, not this rule).
    """
    pks = list(child_pks)
    rows = chosen_address_facts(pks)
    by_child: dict[int, int | None] = dict.fromkeys(pks)
    wanted: dict[int, str] = {}
    for child_id, authority, postcode, status in rows:
        if status in (AddressStatus.NO_FIXED_ADDRESS, AddressStatus.LEFT_ENGLAND):
            continue
        if authority:
            by_child[child_id] = authority
        elif district := postcode_district(postcode):
            wanted[child_id] = district
    if wanted:
        areas = dict(
            PostcodeDistrict.objects.filter(district__in=set(wanted.values())).values_list(
                "district", "local_authority_id"
            )
        )
        for child_id, district in wanted.items():
            by_child[child_id] = areas.get(district)
    return by_child


def states_of(child_pks: Iterable[int], *, today: datetime.date | None = None) -> dict[int, ChildState]:
    pks = sorted(set(child_pks))
    today = today or datetime.date.today()
    states: dict[int, ChildState] = defaultdict(ChildState)
    for start in range(0, len(pks), CHUNK):
        chunk = pks[start : start + CHUNK]
        for child_id, area in areas_of(chunk).items():
            states[child_id].area = area
        for row in live_involvements(chunk, today=today).values_list(
            "child_id",
            "source_id",
            "source_record_id",
            "organisation_id",
            "service_type",
            "is_sensitive",
            "is_lead_professional",
        ):
            child_id, source, record, organisation, service, sensitive, lead = row
            key = (source, record, organisation, service)
            states[child_id].work[key] = _Work(organisation, service, sensitive, lead)
    return {pk: states[pk] for pk in pks}


def event_raise(
    *, kind: str, child: Child | int, other_child: Child | int | None = None, **details: Any
) -> Event:
    """Write one event in the current transaction and have it fanned out once that commits."""
    child_id = child if isinstance(child, int) else child.pk
    other_id = other_child if isinstance(other_child, int) or other_child is None else other_child.pk
    # The authorities responsible when it happened are told, whatever the child's area is by the
    # time the event is fanned out.
    areas = areas_of([child_id] + ([other_id] if other_id else []))
    details["areas"] = sorted({a for a in areas.values() if a})
    event = Event.objects.create(kind=kind, child_id=child_id, other_child_id=other_id, details=details)
    _fan_out_after_commit(event.pk)
    return event


def _fan_out_after_commit(event_id: int) -> None:
    """A nudge only: if it is lost (the process dies first), the dispatcher finds the event anyway."""
    from .tasks import fan_out_task

    transaction.on_commit(lambda: _enqueue(fan_out_task, event_id), robust=True)


def _enqueue(task, *args) -> None:
    task.enqueue(*args)


def _work_details(work: _Work) -> dict[str, Any]:
    return {
        "organisation": work.organisation_id,
        "service_type": work.service_type,
        "sensitive": work.is_sensitive,
    }


def changes_raise(before: dict[int, ChildState], after: dict[int, ChildState]) -> list[Event]:
    """The events that the difference between two states of the same children amounts to."""
    raised = []
    for child_id, old in before.items():
        new = after.get(child_id, ChildState())
        if old.area is not None and new.area != old.area:
            raised.append(
                event_raise(
                    kind=EventKind.ADDRESS_MOVED_AREA,
                    child=child_id,
                    from_area=old.area,
                    to_area=new.area,
                )
            )
        for key in new.work.keys() - old.work.keys():
            raised.append(
                event_raise(
                    kind=EventKind.INVOLVEMENT_STARTED, child=child_id, **_work_details(new.work[key])
                )
            )
        for key in old.work.keys() - new.work.keys():
            raised.append(
                event_raise(kind=EventKind.INVOLVEMENT_ENDED, child=child_id, **_work_details(old.work[key]))
            )
        if old.lead != new.lead:
            was = old.work[old.lead] if old.lead else None
            now = new.work[new.lead] if new.lead else None
            raised.append(
                event_raise(
                    kind=EventKind.LEAD_PROFESSIONAL_CHANGED,
                    child=child_id,
                    from_organisation=was.organisation_id if was else None,
                    to_organisation=now.organisation_id if now else None,
                    sensitive=bool((was and was.is_sensitive) or (now and now.is_sensitive)),
                )
            )
    return raised


@contextmanager
def changes_watched(child_pks: Iterable[int]) -> Iterator[None]:
    """Raise the events a change to these children amounts to, in the change's own transaction.

    Nothing is raised when the change fails: the exception leaves before the second look.
    """
    pks = sorted(set(child_pks))
    with transaction.atomic():
        before = states_of(pks)
        yield
        changes_raise(before, states_of(pks))


def children_services_know(child: Child, *, today: datetime.date | None = None) -> bool:
    """An active involvement of children's social care: the test CP-IS applies before it tells."""
    return live_involvements([child.pk], today=today).filter(service_type=ServiceType.SOCIAL_CARE).exists()


def emergency_lookup_raise(*, actor: "Actor", child: Child, client: str = "") -> Event | None:
    """Called by the door when an emergency or unscheduled-care setting opens a record."""
    if not children_services_know(child):
        return None
    lookup = EmergencyLookup.objects.create(
        child=child, user_id=actor.user_id, organisation=actor.organisation, client=client[:200]
    )
    return event_raise(
        kind=EventKind.EMERGENCY_LOOKUP,
        child=child,
        lookup=lookup.pk,
        organisation=actor.organisation.pk,
        user=actor.user_id,
    )
