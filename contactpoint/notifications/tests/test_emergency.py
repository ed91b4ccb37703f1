"""Emergency and unscheduled-care lookups (after CP-IS): the responsible authority is told, and
sees the latest 25 for each of its children."""

import datetime

import pytest
from django.contrib.auth import get_user_model

from contactpoint.access.actors import Actor
from contactpoint.access.door import child_record_for
from contactpoint.access.models import Profile
from contactpoint.access.services import api_token_authenticate, api_token_issue
from contactpoint.access.tests.factories import actor_for
from contactpoint.notifications.models import Channel, Delivery, EmergencyLookup, Event, EventKind
from contactpoint.notifications.selectors import EMERGENCY_LOOKUPS_SHOWN, emergency_lookups_for
from contactpoint.notifications.services import notifications_dispatch
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory

from .world import World, build_world, end_involvement

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    world = build_world()
    Event.objects.all().delete()
    return world


def emergency_department(world: World) -> Actor:
    hospital = OrganisationFactory(
        kind=OrganisationKind.SERVICE_PROVIDER,
        code="RXF",
        name="Royal Infirmary A&E",
        local_authority=world.leeds,
    )
    actor = actor_for("practitioner", hospital, username="ae-nurse")
    Profile.objects.filter(user_id=actor.user_id).update(unscheduled_care=True)
    return Actor.for_user(get_user_model().objects.get(pk=actor.user_id))


def test_an_emergency_setting_opening_a_child_known_to_social_care_tells_the_responsible_team(world):
    nurse = emergency_department(world)
    assert nurse.unscheduled_care
    child_record_for(nurse, world.child, reason="Attended A&E with an injury")
    (lookup,) = EmergencyLookup.objects.all()
    assert (lookup.child, lookup.organisation.code) == (world.child, "RXF")
    notifications_dispatch()
    event = Event.objects.get(kind=EventKind.EMERGENCY_LOOKUP)
    users = set(
        Delivery.objects.filter(event=event, channel=Channel.IN_APP).values_list("user__username", flat=True)
    )
    assert users == {"team-leeds", "social-worker"}


def test_ordinary_settings_and_children_unknown_to_social_care_raise_nothing(world):
    child_record_for(world.bystander, world.child, reason="school enquiry")
    nurse = emergency_department(world)
    end_involvement(world.lead, world.child, datetime.date.today())
    Event.objects.all().delete()
    child_record_for(nurse, world.child, reason="Attended A&E")
    assert not EmergencyLookup.objects.exists()
    assert not Event.objects.exists()


def test_a_flagged_token_makes_its_user_an_emergency_setting(world):
    raw = api_token_issue(
        user=get_user_model().objects.get(pk=world.bystander.user_id), name="111", unscheduled_care=True
    )
    actor = api_token_authenticate(raw=raw)
    assert actor.unscheduled_care and not world.bystander.unscheduled_care


def test_the_responsible_team_sees_the_latest_25_lookups_others_see_none(world):
    nurse = emergency_department(world)
    for _ in range(EMERGENCY_LOOKUPS_SHOWN + 5):
        child_record_for(nurse, world.child, reason="Attended A&E")
    latest = emergency_lookups_for(actor=world.leeds_team, child=world.child)
    assert len(latest) == EMERGENCY_LOOKUPS_SHOWN
    newest = EmergencyLookup.objects.order_by("-occurred_at", "-pk")[:EMERGENCY_LOOKUPS_SHOWN]
    assert [lookup.pk for lookup in latest] == [lookup.pk for lookup in newest]
    assert emergency_lookups_for(actor=world.manchester_team, child=world.child) == []
    assert emergency_lookups_for(actor=world.lead, child=world.child) == []
