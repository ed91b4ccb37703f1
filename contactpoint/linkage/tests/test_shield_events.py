"""Linkage's own shields (a possible duplicate of a shielded child, until a person decides) raise
the shield events the shield page raises, and only those who see through the shield are told."""

import pytest

from contactpoint.access.models import Shield
from contactpoint.access.services import shield_add
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.linkage.models import ReviewItem, ReviewStatus
from contactpoint.linkage.services import POSSIBLE_DUPLICATE, link_run, review_decide
from contactpoint.notifications.models import Channel, Delivery, Event, EventKind
from contactpoint.notifications.services import notifications_dispatch
from contactpoint.notifications.tests.world import World, build_world, involve
from contactpoint.records.models import ServiceType

from .helpers import child_of, load, person

pytestmark = pytest.mark.django_db


def told(event: Event) -> set[str]:
    deliveries = Delivery.objects.filter(event=event, channel=Channel.IN_APP)
    return set(deliveries.values_list("user__username", flat=True))


@pytest.fixture
def pair(tmp_path) -> tuple[World, object, object]:
    """A child the Leeds team shielded, and a near match a later feed brings, working with the
    social worker (who would be told of a shield the team added on the page)."""
    world = build_world()
    load(tmp_path, "gp_registration", [person("G1", nhs_number="9434765919")])
    link_run()
    shielded = child_of("gp_registration", "G1")
    shield_add(child=shielded, actor=world.leeds_team, reason="refuge")
    load(tmp_path, "child_benefit", [person("C1", nhs_number="9434765870")])  # a near match, for review
    Event.objects.all().delete()
    link_run()
    duplicate = child_of("child_benefit", "C1")
    assert duplicate is not None and duplicate != shielded
    involve(world.lead, duplicate, ServiceType.SOCIAL_CARE, lead=True)
    return world, shielded, duplicate


def test_a_possible_duplicates_shield_is_an_event_told_only_to_those_who_see_through_it(pair):
    world, shielded, duplicate = pair
    shield = Shield.objects.get(child=duplicate, ended_at__isnull=True)
    assert shield.reason == POSSIBLE_DUPLICATE and shield.local_authority == world.leeds
    event = Event.objects.get(kind=EventKind.SHIELD_ADDED)  # raised with the shield, in its transaction
    assert event.child_id == duplicate.pk
    assert event.details["shield"] == shield.pk and event.details["possible_duplicate"] is True
    assert str(shielded.contactpoint_id) not in str(event.details)
    audit = AuditEvent.objects.get(event_type=EventType.SHIELD, child_ids=[duplicate.contactpoint_id])
    assert audit.details == {"action": "added", "possible_duplicate_of": shielded.contactpoint_id}
    notifications_dispatch()
    # the social worker leads the duplicate's case, but would learn it may be a shielded child
    assert told(event) == {"team-leeds"}


def test_deciding_the_pair_are_two_children_ends_the_shield_and_tells_the_same_people(pair):
    _, shielded, duplicate = pair
    notifications_dispatch()
    item = ReviewItem.objects.get(status=ReviewStatus.OPEN)
    review_decide(item=item, same_child=False, by=None)
    shield = Shield.objects.get(child=duplicate)
    assert shield.ended_at is not None and f"review item {item.pk}" in shield.end_reason
    assert Shield.objects.filter(child=shielded, ended_at__isnull=True).exists()  # the original stays
    removed = Event.objects.get(kind=EventKind.SHIELD_REMOVED)
    assert removed.child_id == duplicate.pk and removed.details["shield"] == shield.pk
    ended = AuditEvent.objects.filter(event_type=EventType.SHIELD).latest("pk")
    assert ended.details == {"action": "ended", "review_item": item.pk}
    notifications_dispatch()
    assert told(removed) == {"team-leeds"}


def test_a_shield_added_on_the_page_still_reaches_those_working_with_the_child(pair):
    """The contrast: a shield the team adds is no secret from the child's own lead professional."""
    world, _, duplicate = pair
    Shield.objects.filter(child=duplicate).delete()
    Event.objects.all().delete()
    shield_add(child=duplicate, actor=world.leeds_team, reason="witness protection")
    notifications_dispatch()
    assert told(Event.objects.get(kind=EventKind.SHIELD_ADDED)) == {"team-leeds", "social-worker"}


def test_a_rolled_back_link_run_leaves_neither_shield_nor_event(tmp_path, monkeypatch):
    world = build_world()
    load(tmp_path, "gp_registration", [person("G1", nhs_number="9434765919")])
    link_run()
    shield_add(child=child_of("gp_registration", "G1"), actor=world.leeds_team, reason="refuge")
    load(tmp_path, "child_benefit", [person("C1", nhs_number="9434765870")])
    Event.objects.all().delete()

    def fail(**_):
        raise RuntimeError("event store down")

    monkeypatch.setattr("contactpoint.notifications.events.Event.objects.create", fail)
    with pytest.raises(RuntimeError):
        link_run()
    assert not Shield.objects.filter(reason=POSSIBLE_DUPLICATE).exists()
