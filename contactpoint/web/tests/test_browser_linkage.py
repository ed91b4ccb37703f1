"""The management team's linkage review in a real browser, with axe-core on every page.

Uses the browser, sign-in and page checks of test_browser (same Chromium, same rules).
"""

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.linkage.models import ReviewItem, ReviewStatus
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.records.tests.factories import InvolvementFactory
from contactpoint.web.tests.test_browser import KEY_HEX, pytestmark, sign_in
from contactpoint.web.tests.test_browser import browser as browser
from contactpoint.web.tests.test_browser import visit as visit
from contactpoint.web.tests.world import World, build_world

__all__ = ["pytestmark"]
NOAH = {"given_name": "Noah", "family_name": "Briggs", "date_of_birth": "2014-05-05", "postcode": "LS8 1AA"}


@pytest.fixture
def world(tmp_path) -> World:
    world = build_world(tmp_path)
    TOTPDevice.objects.create(user=world.team, name="Authenticator", key=KEY_HEX, confirmed=True)
    load(tmp_path, "gp_registration", [person("N1", nhs_number="9434765919", **NOAH)])
    load(tmp_path, "child_benefit", [person("N2", nhs_number="9434765870", **NOAH)])
    link_run()
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    InvolvementFactory(child=child_of("gp_registration", "N1"), organisation=leeds)
    return world


def test_a_reviewer_walks_the_queue_decides_a_pair_and_reads_the_quality_dashboard(visit, world):
    page = visit.page
    item = ReviewItem.objects.get(status=ReviewStatus.OPEN, reason="different NHS numbers")
    sign_in(visit, "team-383")

    page.get_by_role("link", name="Linkage review").first.click()
    visit.check("review-1-queue")
    page.get_by_role(
        "link", name=f"Review pair {item.child_a.contactpoint_id} and {item.child_b.contactpoint_id}"
    ).click()
    visit.check("review-2-pair")
    chart = page.locator("table", has_text="Match weight of each comparison").inner_text()
    assert "NHS number" in chart and "Against" in chart
    assert page.locator(".cp-bar--against").count() >= 1

    visit.submit("Continue")  # no answer: the error summary links to the question
    assert "Select whether these records" in page.locator(".govuk-error-summary").inner_text()
    page.locator(".govuk-error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "id_decision"
    visit.check()
    page.get_by_label("Different children: keep them apart").check()
    visit.submit("Continue", "review-3-check")
    assert "Different children" in page.locator(".govuk-summary-list").inner_text()
    visit.submit("Confirm decision")
    assert page.get_by_role("heading", name="Kept apart").is_visible()
    item.refresh_from_db()
    assert item.status == ReviewStatus.KEPT_APART

    visit.goto(reverse("web:merges"))
    page.get_by_role("link", name="Data quality").first.click()
    visit.check("review-4-data-quality")
    assert "Match rate by source" in page.locator("main").inner_text()
