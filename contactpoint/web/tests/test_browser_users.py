"""The authority team manages its users in a real browser, with axe-core on every page.

Uses the browser, sign-in and page checks of test_browser (same Chromium, same rules).
"""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.models import Profile
from contactpoint.access.tests.factories import make_user
from contactpoint.web.tests.test_browser import KEY_HEX, pytestmark, sign_in
from contactpoint.web.tests.test_browser import browser as browser
from contactpoint.web.tests.test_browser import visit as visit

__all__ = ["pytestmark"]


@pytest.fixture
def team():
    team = make_user("team-383", "la_management", organisation="383")
    TOTPDevice.objects.create(user=team.user, name="Authenticator", key=KEY_HEX, confirmed=True)
    make_user("lapsed-383", vetted=False)
    return team


def test_a_team_creates_a_user_records_vetting_and_suspends_them(visit, team):
    page = visit.page
    sign_in(visit, "team-383")
    page.get_by_role("link", name="Users").first.click()
    visit.check("users-1-list")
    page.get_by_role("link", name=re.compile(r"^Vetting lapsed or incomplete")).click()
    visit.check()
    assert "lapsed-383" in page.locator("table").inner_text()

    page.get_by_role("button", name="Create a user").click()
    visit.check()
    visit.submit("Create user")  # nothing answered: the error summary links to each question
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "Enter a username" in summary and "Select what they will do" in summary
    page.locator(".govuk-error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "id_username"
    visit.check("users-2-create-errors")
    page.get_by_label("Username").fill("sam.okafor")
    page.get_by_label("Practitioner", exact=True).check()
    visit.submit("Create user", "users-3-created")
    assert page.get_by_role("heading", name="User created").is_visible()
    assert get_user_model().objects.filter(username="sam.okafor").exists()

    page.get_by_role("link", name="Record their vetting").click()
    visit.check()
    today = datetime.date.today()
    for legend in (
        "Date of the enhanced DBS check",
        "Date ContactPoint training was completed",
        "Date the user agreement was signed",
    ):
        group = page.get_by_role("group", name=legend)
        group.get_by_label("Day").fill(str(today.day))
        group.get_by_label("Month").fill(str(today.month))
        group.get_by_label("Year").fill(str(today.year))
    visit.submit("Save vetting", "users-4-user")
    assert "Vetting current" in page.locator("main").inner_text()

    page.get_by_role("button", name="Suspend account").click()  # a link styled as a button
    visit.check()
    page.get_by_label("Why are you suspending this account?").fill("Left the service")
    visit.submit("Suspend account")
    assert "account is suspended" in page.locator(".govuk-notification-banner").inner_text()
    assert Profile.objects.get(user__username="sam.okafor").suspended_at is not None


def _tab_to(page, text: str = "", *, element_id: str = "") -> None:
    """Press Tab until the focused element starts with the text (or has the id)."""
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate("[document.activeElement.id, document.activeElement.textContent]")
        if (element_id and focused[0] == element_id) or (
            text and (focused[1] or "").strip().startswith(text)
        ):
            return
    pytest.fail(f"Tab never reached {text or element_id!r}")


def test_a_team_suspends_an_account_with_the_keyboard_alone(visit, team):
    page = visit.page
    sign_in(visit, "team-383")
    visit.goto("/users/")
    _tab_to(page, "Manage")  # the first account in the list: lapsed-383
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.check()
    assert page.get_by_role("heading", level=1).inner_text() == "lapsed-383"
    _tab_to(page, "Suspend account")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.check()
    _tab_to(page, element_id="id_reason")
    page.keyboard.type("Investigation")
    _tab_to(page, "Suspend account")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    visit.check()
    assert Profile.objects.get(user__username="lapsed-383").suspension_reason == "Investigation"


def test_a_team_shields_a_child_from_the_shields_page(visit, tmp_path):
    from contactpoint.access.models import Shield
    from contactpoint.web.tests.world import build_world

    world = build_world(tmp_path)
    TOTPDevice.objects.create(user=world.team, name="Authenticator", key=KEY_HEX, confirmed=True)
    page = visit.page
    sign_in(visit, "team-383")
    page.get_by_role("link", name="Shield reviews").first.click()
    visit.check()
    page.get_by_role("button", name="Shield a child").click()
    visit.check()
    visit.submit("Shield child")
    assert "Enter why the child must be shielded" in page.locator(".govuk-error-summary").inner_text()
    visit.check("shield-1-errors")
    page.get_by_label("ContactPoint ID of the child").fill(world.child.contactpoint_id)
    page.get_by_label("Why must this child be shielded?").fill("Family in a refuge")
    visit.submit("Shield child", "shield-2-done")
    assert "is shielded by Leeds City Council" in page.locator(".govuk-notification-banner").inner_text()
    assert Shield.objects.filter(child=world.child, ended_at__isnull=True).exists()
