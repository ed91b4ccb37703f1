"""The responsible team's record-keeping pages: consent to stay live to 25, a death, a correction.

Each is the team of the authority responsible for the child's alone (Leeds for the world's child),
audited when used and when refused, and needs a fresh second factor to save.
"""

import datetime
import html

import pytest
from django.urls import reverse

from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.access.tests.test_reauth import age_second_factor
from contactpoint.audit.models import AuditEvent, EventType, Outcome
from contactpoint.retention.models import ChildRetention
from contactpoint.subject_access.models import Rectification, SourceNotification
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
CONSENT = {"consent": "care_leaver", "evidence": "Signed form, 3 November 2026"}
DEATH = {"died_day": "2", "died_month": "11", "died_year": "2026", "source": "The registrar"}
CORRECTION = {
    "item": "ChildName",
    "field": "given_name",
    "source": "gp_registration",
    "source_record_id": "G1",
    "corrected_value": "Amelie",
    "requested_by": "Her mother, by letter of 3 November",
}
PAGES = {"web:retention_consent": CONSENT, "web:child_death": DEATH, "web:correction": CORRECTION}


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def url(world, page, child=None):
    return reverse(page, args=[(child or world.child).contactpoint_id])


def changes(outcome=Outcome.SUCCESS):
    return AuditEvent.objects.filter(event_type=EventType.CHANGE, outcome=outcome)


def test_the_team_records_consent_and_it_is_audited(client, world):
    sign_in_verified(client, world.team)
    page = client.get(url(world, "web:retention_consent")).content.decode()
    assert world.child.contactpoint_id in page and "Amelia" not in page  # the question shows the ID only
    done = client.post(url(world, "web:retention_consent"), CONSENT)
    assert done.status_code == 200 and "Consent recorded" in done.content.decode()
    state = ChildRetention.objects.get(child=world.child)
    assert (state.consent, state.consent_evidence) == ("care_leaver", "Signed form, 3 November 2026")
    assert state.consent_recorded_by_id == world.team.pk
    event = changes().get()
    assert (event.child_ids, event.details["retention"]) == ([world.child.contactpoint_id], "consent")
    export = client.post(
        reverse("subject_access:export", args=[world.child.contactpoint_id]),
        {"reference": "SAR", "output": "json"},
    ).json()
    assert export["retention"]["consent_evidence"] == "Signed form, 3 November 2026"  # everything held


def test_the_team_records_a_death_with_its_source(client, world):
    sign_in_verified(client, world.team)
    done = client.post(url(world, "web:child_death"), DEATH)
    assert done.status_code == 200 and "Death recorded" in done.content.decode()
    state = ChildRetention.objects.get(child=world.child)
    assert (state.died_on, state.died_source) == (datetime.date(2026, 11, 2), "The registrar")
    assert changes().get().details == {"retention": "death", "died_on": "2026-11-02"}


def test_the_team_records_a_correction_and_the_source_is_owed_a_notice(client, world):
    sign_in_verified(client, world.team)
    prefilled = client.get(
        url(world, "web:correction"),
        {"item": "ChildName", "source": "gp_registration", "source_record_id": "G1"},
    ).content.decode()
    assert 'value="gp_registration"' in prefilled and 'value="G1"' in prefilled
    assert '<option value="ChildName" selected>' in prefilled
    done = client.post(url(world, "web:correction"), CORRECTION)
    text = html.unescape(done.content.decode())
    assert done.status_code == 200 and "Correction recorded" in text and "Amelie" in text
    rectification = Rectification.objects.get()
    assert (rectification.current_value, rectification.corrected_value) == ("Amelia", "Amelie")
    assert rectification.requested_by == "Her mother, by letter of 3 November"
    assert SourceNotification.objects.get().source.code == "gp_registration"
    assert changes().get().details["rectification"] == rectification.pk


@pytest.mark.parametrize(
    ("page", "changed", "field", "message"),
    [
        ("web:retention_consent", {"consent": ""}, "consent", "Select whether the young person"),
        ("web:retention_consent", {"evidence": "  "}, "evidence", "Enter how the young person"),
        ("web:child_death", {"died_year": "2999"}, "died_day", "Date of death must be today or in the past"),
        ("web:child_death", {"died_month": "13"}, "died_day", "Date of death must be a real date"),
        ("web:child_death", {"source": ""}, "source", "Enter who told you of the death"),
        ("web:correction", {"field": "case_notes"}, "field", "Enter a value this part of the record holds"),
        ("web:correction", {"source_record_id": "NOPE"}, "source_record_id", "asserts no current"),
        ("web:correction", {"corrected_value": "Amelia"}, "corrected_value", "already held"),
        ("web:correction", {"requested_by": ""}, "requested_by", "Enter who asked for the correction"),
    ],
)
def test_bad_answers_are_shown_against_their_field_and_nothing_is_written(
    client, world, page, changed, field, message
):
    sign_in_verified(client, world.team)
    answer = client.post(url(world, page), {**PAGES[page], **changed})
    text = html.unescape(answer.content.decode())
    assert answer.status_code == 200 and "There is a problem" in text and message in text
    assert f'href="#id_{field}"' in text  # the error summary links to the field
    assert not changes().exists() and not Rectification.objects.exists()
    assert not ChildRetention.objects.exists()


@pytest.mark.parametrize("page", sorted(PAGES))
def test_another_authoritys_team_is_refused_and_the_refusal_is_audited(client, world, page):
    sign_in_verified(client, world.other_team)
    assert client.get(url(world, page)).status_code == 403
    assert client.post(url(world, page), PAGES[page]).status_code == 403
    refusals = changes(Outcome.DENIED)
    assert refusals.count() == 2
    assert all("responsible for this child" in e.details["refused"] for e in refusals)
    assert (
        not changes().exists() and not ChildRetention.objects.exists() and not Rectification.objects.exists()
    )


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_practitioner_is_refused(client, world, page):
    sign_in_verified(client, world.practitioner)
    assert client.post(url(world, page), PAGES[page]).status_code == 403
    assert "role cannot" in changes(Outcome.DENIED).get().details["refused"]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_stale_session_confirms_before_saving(client, world, settings, page):
    settings.CONTACTPOINT_REAUTH_SECONDS = 300
    sign_in_verified(client, world.team)
    age_second_factor(client, 301)
    asked = client.post(url(world, page), PAGES[page])
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("account:confirm"))
    assert not changes().exists()


def test_the_record_and_the_subject_access_pages_link_to_them_for_the_responsible_team(client, world):
    record = reverse("web:child", args=[world.child.contactpoint_id])
    sign_in_verified(client, world.team)
    page = client.post(record, {"reason": "safeguarding", "details": ""}).content.decode()
    for name in PAGES:
        assert url(world, name) in page
    request = client.get(
        reverse("subject_access:export", args=[world.child.contactpoint_id])
    ).content.decode()
    assert url(world, "web:child_death") in request
    export = client.post(
        reverse("subject_access:export", args=[world.child.contactpoint_id]),
        {"reference": "SAR 1", "output": "html"},
    ).content.decode()
    assert (
        url(world, "web:correction") + "?item=ChildName&amp;source=gp_registration&amp;source_record_id=G1"
        in export
    )
    for other in (world.other_team, world.practitioner):
        client.logout()
        sign_in_verified(client, other)
        page = client.post(record, {"reason": "safeguarding", "details": ""}).content.decode()
        assert "Keeping this record" not in page and url(world, "web:child_death") not in page
