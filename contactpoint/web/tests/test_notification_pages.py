"""The notifications page, its unread count in the navigation, choices, and the team's lookups."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from contactpoint.access.actors import Actor
from contactpoint.access.door import child_record_for
from contactpoint.access.models import Profile
from contactpoint.access.services import address_change_report
from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.notifications.models import Event, Preference
from contactpoint.notifications.services import notifications_dispatch
from contactpoint.notifications.tests.test_events import NEW_ADDRESS
from contactpoint.notifications.tests.world import build_world

pytestmark = pytest.mark.django_db


def user(actor):
    return get_user_model().objects.get(pk=actor.user_id)


def test_new_notifications_are_counted_marked_then_read(client):
    world = build_world()
    Event.objects.all().delete()
    address_change_report(actor=world.lead, child=world.child, reason="moved", address=NEW_ADDRESS)
    notifications_dispatch()
    sign_in_verified(client, user(world.manchester_team))
    home = client.get(reverse("web:home")).content.decode()
    assert "Notifications (1 new)" in home
    page = client.get(reverse("web:notifications")).content.decode()
    assert "Moved to another local authority area" in page and world.child.contactpoint_id in page
    assert ">New<" in page.replace("\n", "").replace(" ", "")
    assert "Canal Street" not in page
    again = client.get(reverse("web:notifications")).content.decode()
    assert "Notifications (1 new)" not in again and ">New<" not in again.replace("\n", "").replace(" ", "")


def test_choices_are_saved(client):
    world = build_world()
    sign_in_verified(client, user(world.school_nurse))
    response = client.post(reverse("web:notification_settings"), {"involved_children": "on"})
    assert response.status_code == 302
    preference = Preference.objects.get(user_id=world.school_nurse.user_id)
    assert (preference.involved_children, preference.email) == (True, False)


def test_the_team_sees_its_childrens_emergency_lookups(client):
    world = build_world()
    nurse = world.bystander
    Profile.objects.filter(user_id=nurse.user_id).update(unscheduled_care=True)
    child_record_for(Actor.for_user(user(nurse)), world.child, reason="A&E attendance")
    sign_in_verified(client, user(world.leeds_team))
    page = client.get(reverse("web:emergency_lookups")).content.decode()
    assert world.child.contactpoint_id in page and world.leeds.name in page
    client.logout()
    sign_in_verified(client, user(world.manchester_team))
    assert world.child.contactpoint_id not in client.get(reverse("web:emergency_lookups")).content.decode()
