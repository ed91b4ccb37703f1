"""Notifications and emergency lookups in a real browser, with axe-core on every page.

Uses the browser, sign-in and page checks of test_browser (same Chromium, same rules).
"""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.actors import Actor
from contactpoint.access.door import child_record_for
from contactpoint.access.models import Profile
from contactpoint.notifications.models import PostcodeDistrict, Preference
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.web.tests.test_browser import KEY_HEX, pytestmark, sign_in
from contactpoint.web.tests.test_browser import browser as browser
from contactpoint.web.tests.test_browser import visit as visit
from contactpoint.web.tests.world import World, build_world

__all__ = ["pytestmark"]


@pytest.fixture
def world(tmp_path) -> World:
    world = build_world(tmp_path)
    TOTPDevice.objects.create(user=world.team, name="Authenticator", key=KEY_HEX, confirmed=True)
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    PostcodeDistrict.objects.create(district="LS6", local_authority=leeds)
    Profile.objects.filter(user=world.practitioner).update(unscheduled_care=True)
    child_record_for(Actor.for_user(world.practitioner), world.child, reason="A&E attendance")
    return world


def test_the_team_reads_its_notifications_sets_its_choices_and_sees_emergency_lookups(visit, world):
    page = visit.page
    sign_in(visit, "team-383")
    page.get_by_role("link", name="Notifications (1 new)").click()
    visit.check("notifications-1-list")
    table = page.locator("table").inner_text()
    assert "Looked up from an emergency or unscheduled-care setting" in table
    assert world.child.contactpoint_id in table

    page.get_by_role("link", name="Choose what you are told").click()
    visit.check("notifications-2-choices")
    page.get_by_label("Tell me about changes to children I am working with").check()
    page.get_by_label("Also email me, as well as showing them here").uncheck()
    visit.submit("Save choices")
    assert "Your notification choices are saved" in page.content()
    preference = Preference.objects.get(user=world.team)
    assert (preference.involved_children, preference.email) == (True, False)
    assert page.get_by_role("link", name="Notifications", exact=True).is_visible()  # all read now

    page.get_by_role("link", name="Emergency lookups").click()
    visit.check("notifications-3-emergency-lookups")
    assert world.child.contactpoint_id in page.locator("main").inner_text()
