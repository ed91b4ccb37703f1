"""Feed loads and the quarantine in a real browser, with axe-core on every page.

Uses the browser, sign-in and page checks of test_browser (same Chromium, same rules).
"""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.feeds.models import QuarantinedRow, QuarantineStatus
from contactpoint.feeds.tests.helpers import child_row, write_csv
from contactpoint.feeds.tests.test_feed_selectors import Feeds, build_feeds
from contactpoint.web.tests.test_browser import KEY_HEX, pytestmark, sign_in
from contactpoint.web.tests.test_browser import browser as browser
from contactpoint.web.tests.test_browser import visit as visit

__all__ = ["pytestmark"]


@pytest.fixture
def feeds(tmp_path, settings) -> Feeds:
    settings.CONTACTPOINT_FEED_UPLOAD_DIR = tmp_path / "uploads"
    built = build_feeds(tmp_path)
    for actor in (built.leeds, built.data_manager):
        TOTPDevice.objects.create(user_id=actor.user_id, name="Authenticator", key=KEY_HEX, confirmed=True)
    return built


def test_a_team_reads_its_load_reports_and_quarantine(visit, feeds):
    page = visit.page
    sign_in(visit, "team-383")
    page.get_by_role("link", name="Feed loads").first.click()
    visit.check("feeds-1-loads")
    page.get_by_role("link", name=f"Report for {feeds.gp_file.name}").click()
    visit.check("feeds-2-load-report")
    assert "No usable given or family name" in page.locator("main").inner_text()
    page.get_by_role("link", name="See this load's quarantined rows").click()
    visit.check("feeds-3-quarantine")
    table = page.locator("table").inner_text()
    assert "G2" in table and "G3" not in table


def test_a_data_manager_sends_a_corrected_file_and_the_row_is_resolved(visit, feeds, tmp_path):
    page = visit.page
    sign_in(visit, "dm-nhs")
    page.get_by_role("link", name="Feed loads").first.click()
    visit.check()
    page.get_by_role("link", name="GP registrations").click()
    visit.check()
    visit.submit("Send file")  # no file: the error summary says so
    assert "Select the file to send" in page.locator(".govuk-error-summary").inner_text()
    corrected = write_csv(
        tmp_path / "corrected.csv", [child_row("G2", given_name="Maya", family_name="Hill")]
    )
    page.get_by_label("Upload the corrected file").set_input_files(str(corrected))
    visit.submit("Send file", "feeds-4-sent")
    assert page.get_by_role("heading", name="File loaded").is_visible()
    assert QuarantinedRow.objects.get(source_record_id="G2").status == QuarantineStatus.RESOLVED


def test_a_data_manager_reads_the_data_quality_dashboard_for_one_area(visit, feeds):
    page = visit.page
    sign_in(visit, "dm-nhs")
    page.get_by_role("link", name="Data quality").first.click()
    visit.check()
    page.get_by_label("Show the figures for").select_option(label=feeds.leeds.local_authority.name)
    visit.submit("Show", "quality-1-area")
    assert page.get_by_role("heading", level=1).inner_text().endswith(feeds.leeds.local_authority.name)
    assert "Stale records by source" in page.locator("main").inner_text()
