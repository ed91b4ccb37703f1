"""The responsible team keeps a child's record in a real browser, with axe-core on every page:
consent to stay live to 25, a death, and a correction reached from the subject access export.

Uses the browser, sign-in and page checks of test_browser (same Chromium, same rules).
"""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.retention.models import ChildRetention
from contactpoint.subject_access.models import Rectification
from contactpoint.web.tests.test_browser import KEY_HEX, pytestmark, sign_in
from contactpoint.web.tests.test_browser import browser as browser
from contactpoint.web.tests.test_browser import visit as visit
from contactpoint.web.tests.world import build_world

__all__ = ["pytestmark"]


@pytest.fixture
def world(tmp_path):
    world = build_world(tmp_path)
    TOTPDevice.objects.create(user=world.team, name="Authenticator", key=KEY_HEX, confirmed=True)
    return world


def test_the_team_records_consent_and_a_death_from_the_childs_record(visit, world):
    page = visit.page
    sign_in(visit, "team-383")
    visit.goto(reverse("web:child", args=[world.child.contactpoint_id]))
    page.get_by_label("A safeguarding concern about this child").check()
    visit.submit("Show the record")
    assert page.get_by_role("heading", name="Keeping this record").is_visible()

    page.get_by_role("link", name="Record consent to keep the record until 25").click()
    visit.check()
    visit.submit("Record consent")  # nothing answered: the summary links to each question
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "Select whether the young person" in summary and "Enter how the young person" in summary
    visit.check("record-keeping-1-consent-errors")
    page.get_by_label("They are a care leaver").check()
    page.get_by_label("How did the young person give their consent?").fill("Signed form, 3 November 2026")
    visit.submit("Record consent", "record-keeping-2-consent-recorded")
    assert page.get_by_role("heading", name="Consent recorded").is_visible()
    assert ChildRetention.objects.get(child=world.child).consent == "care_leaver"

    visit.goto(reverse("web:child_death", args=[world.child.contactpoint_id]))
    page.get_by_label("Day").fill("31")
    page.get_by_label("Month").fill("2")
    page.get_by_label("Year").fill("2026")
    page.get_by_label("Who told you of the death?").fill("The registrar")
    visit.submit("Record the death")
    page.locator(".govuk-error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "id_died_day"
    page.get_by_label("Day").fill("28")
    visit.submit("Record the death", "record-keeping-3-death-recorded")
    assert page.get_by_role("heading", name="Death recorded").is_visible()
    assert str(ChildRetention.objects.get(child=world.child).died_on) == "2026-02-28"


def test_the_team_records_a_correction_from_the_subject_access_export(visit, world):
    page = visit.page
    sign_in(visit, "team-383")
    visit.goto(reverse("subject_access:export", args=[world.child.contactpoint_id]))
    page.get_by_label("Which request is this?").fill("SAR 2026/7 from Amelia's mother")
    page.get_by_label("A page to read and print").check()
    visit.submit("Export", "record-keeping-4-export")
    page.get_by_role("link", name="Correct this ChildName from gp_registration").first.click()
    visit.check()
    assert page.get_by_label("The source's record number").input_value() == "G1"
    page.get_by_label("Which value?").fill("given_name")
    page.get_by_label("What should it say?").fill("Amelie")
    page.get_by_label("Who asked for the correction?").fill("Her mother, by letter of 3 November")
    visit.submit("Record the correction and tell the source", "record-keeping-5-correction-recorded")
    assert page.get_by_role("heading", name="Correction recorded").is_visible()
    assert Rectification.objects.get().corrected_value == "Amelie"
