"""Feed load and quarantine pages: scoped by area, audited, and a corrected file resolves a row."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.audit.models import AuditEvent
from contactpoint.feeds.models import FeedFile, QuarantinedRow, QuarantineStatus
from contactpoint.feeds.tests.helpers import child_row
from contactpoint.feeds.tests.test_feed_selectors import Feeds, build_feeds

pytestmark = pytest.mark.django_db


@pytest.fixture
def feeds(tmp_path, settings) -> Feeds:
    settings.CONTACTPOINT_FEED_UPLOAD_DIR = tmp_path / "uploads"
    return build_feeds(tmp_path)


def _as(client, actor) -> None:
    from django.contrib.auth import get_user_model

    sign_in_verified(client, get_user_model().objects.get(pk=actor.user_id))


def _record_ids(page: str) -> set[str]:
    """The quarantined rows' record ids as the table shows them (not any text: a CSRF token may
    hold "G3")."""
    return set(re.findall(r"<code>([^<]*)</code>", page))


def test_a_team_sees_its_areas_loads_and_rows_with_reasons_but_no_addresses(client, feeds):
    _as(client, feeds.leeds)
    loads = client.get(reverse("web:feeds")).content.decode()
    assert feeds.gp_file.name in loads and feeds.benefit_file.name not in loads
    assert 'href="/feeds/"' in loads  # in the navigation
    report = client.get(reverse("web:feed_load", args=[feeds.gp_file.pk])).content.decode()
    assert "No usable given or family name" in report and "Aged 25 or over" in report
    assert "in your area (1)" in report
    assert client.get(reverse("web:feed_load", args=[feeds.benefit_file.pk])).status_code == 404

    page = client.get(reverse("web:quarantine")).content.decode()
    assert _record_ids(page) == {"G2"}
    assert "No usable given or family name" in page
    assert "LS6 2AB" not in page and "12 Oak Road" not in page  # the row's address stays out
    assert (
        AuditEvent.objects.filter(actor_username="team-383", details__action="quarantine_viewed").count() == 1
    )
    assert "Send a corrected file" not in report  # teams do not run the sources


def test_data_managers_see_every_area(client, feeds):
    _as(client, feeds.data_manager)
    page = client.get(reverse("web:quarantine")).content.decode()
    assert all(srid in page for srid in ("G2", "G3", "B1"))
    one_load = client.get(reverse("web:quarantine"), {"load": feeds.benefit_file.pk}).content.decode()
    assert "B1" in _record_ids(one_load) and "G2" not in _record_ids(one_load)


def test_a_corrected_file_sent_from_the_page_resolves_the_row(client, feeds):
    _as(client, feeds.data_manager)
    report = client.get(reverse("web:feed_load", args=[feeds.gp_file.pk])).content.decode()
    assert "Send a corrected file" in report
    header = ",".join(child_row("G2"))
    values = ",".join(child_row("G2", given_name="Maya", family_name="Hill").values())
    upload = SimpleUploadedFile("gp-corrected.csv", f"{header}\n{values}\n".encode(), "text/csv")
    sent = client.post(reverse("web:feed_resend", args=["gp_registration"]), {"file": upload})
    assert sent.status_code == 200 and "File loaded" in sent.content.decode()
    row = QuarantinedRow.objects.get(source_record_id="G2")
    assert row.status == QuarantineStatus.RESOLVED and row.resolved_by_file.name.endswith(".csv")
    resolved = client.get(reverse("web:quarantine"), {"status": "resolved"}).content.decode()
    assert "G2" in resolved and "Corrected and loaded" in resolved


def test_a_bad_file_is_refused_with_a_message_and_loads_nothing(client, feeds):
    _as(client, feeds.data_manager)
    before = FeedFile.objects.count()
    url = reverse("web:feed_resend", args=["gp_registration"])
    missing = client.post(url, {}).content.decode()
    assert "There is a problem" in missing and "Select the file to send" in missing
    empty = SimpleUploadedFile("empty.csv", b"", "text/csv")
    assert "The selected file is empty" in client.post(url, {"file": empty}).content.decode()
    headless = SimpleUploadedFile("bad.csv", b"name,dob\nx,y\n", "text/csv")
    page = client.post(url, {"file": headless}).content.decode()
    assert "could not be read" in page and "source_record_id" in page
    assert FeedFile.objects.count() == before


def test_who_may_open_the_feed_pages(client, feeds):
    _as(client, feeds.practitioner)
    for path in (
        reverse("web:feeds"),
        reverse("web:quarantine"),
        reverse("web:feed_load", args=[feeds.gp_file.pk]),
    ):
        assert client.get(path).status_code == 403
    client.logout()
    _as(client, feeds.leeds)
    assert client.get(reverse("web:feed_resend", args=["gp_registration"])).status_code == 403
    assert client.get(reverse("web:quarantine"), {"load": feeds.benefit_file.pk}).status_code == 404
    client.logout()
    _as(client, feeds.data_manager)
    assert client.get(reverse("web:feed_resend", args=["child_benefit"])).status_code == 403  # HMRC's source
    assert client.get(reverse("web:feed_resend", args=["no_such_source"])).status_code == 404
