"""Subject access exports everything held, audited; rectification records who asked and owes the
source a notice."""

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from contactpoint.access.door import child_record_for, subject_access_for
from contactpoint.access.tests.factories import actor_for, make_user, sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType, Outcome
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.notifications.models import PostcodeDistrict
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.records.tests.factories import InvolvementFactory
from contactpoint.retention.tests.helpers import BORN, child, index
from contactpoint.subject_access.models import Rectification, SourceNotification
from contactpoint.subject_access.services import rectification_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def la(tmp_path):
    index(tmp_path)
    # The authority's feed corrects Ivy's family name: the old value is superseded, not lost.
    load(
        tmp_path,
        "la_childrens_services",
        [person("G1", given_name="Ivy", family_name="Quennel-Hart", date_of_birth=BORN.isoformat())],
    )
    link_run()
    leeds = Organisation.objects.get_or_create(
        kind=OrganisationKind.LOCAL_AUTHORITY, code="383", defaults={"name": "Leeds"}
    )[0]
    PostcodeDistrict.objects.create(district="LS6", local_authority=leeds)  # the children live in Leeds
    return leeds


@pytest.fixture
def manchester():
    return Organisation.objects.create(kind=OrganisationKind.LOCAL_AUTHORITY, code="352", name="Manchester")


def test_everything_held_with_sources_dates_superseded_values_and_access_history(la):
    practitioner = actor_for("practitioner", la)
    child_record_for(practitioner, child("G1"), reason="safeguarding")
    team = actor_for("la_management", la)
    export = subject_access_for(team, child("G1"), reason="SAR 2026/7 from the young person", output="json")
    names = export["items"]["ChildName"]
    family_names = {(n["values"]["family_name"], n["source"], bool(n["superseded_at"])) for n in names}
    assert ("Quennell", "la_childrens_services", True) in family_names
    assert ("Quennel-Hart", "la_childrens_services", False) in family_names
    assert export["items"]["ChildBirthDate"][0]["values"]["date_of_birth"] == BORN.isoformat()
    assert {r["source"] for r in export["source_records"]} == {"la_childrens_services", "child_benefit"}
    assert [(h["event"], h["role"], h["reason"]) for h in export["access_history"]] == [
        ("view", "practitioner", "safeguarding")
    ]
    json.dumps(export)  # plain data all the way down
    event = AuditEvent.objects.filter(event_type=EventType.EXPORT).latest("id")
    assert (event.child_ids, event.details["subject_access"]) == ([child("G1").contactpoint_id], "json")


def test_only_management_teams_export_and_a_refusal_is_audited(la):
    with pytest.raises(PermissionDenied):
        subject_access_for(actor_for("practitioner", la), child("G1"), reason="curious", output="html")
    assert AuditEvent.objects.filter(event_type=EventType.EXPORT).get().outcome == Outcome.DENIED
    with pytest.raises(ValidationError, match="which request"):
        subject_access_for(actor_for("la_management", la), child("G1"), reason=" ", output="html")


def test_only_the_team_of_the_authority_responsible_for_the_child_exports(la, manchester):
    # Known to Manchester (a service there), but living in Leeds: Leeds answers for the child.
    InvolvementFactory(child=child("G1"), organisation=manchester)
    with pytest.raises(PermissionDenied, match="responsible for this child"):
        subject_access_for(actor_for("la_management", manchester), child("G1"), reason="SAR 9", output="json")
    refusal = AuditEvent.objects.filter(event_type=EventType.EXPORT).get()
    assert (refusal.outcome, refusal.child_ids) == (Outcome.DENIED, [child("G1").contactpoint_id])
    assert "responsible for this child" in refusal.details["refused"]
    assert subject_access_for(actor_for("la_management", la), child("G1"), reason="SAR 9", output="json")


def test_without_an_area_by_address_the_authorities_the_child_is_known_to_answer(la, manchester):
    PostcodeDistrict.objects.all().delete()  # the postcode maps to no authority
    team = actor_for("la_management", manchester)
    with pytest.raises(PermissionDenied):
        subject_access_for(team, child("G1"), reason="SAR 10", output="json")
    InvolvementFactory(child=child("G1"), organisation=manchester)
    assert subject_access_for(team, child("G1"), reason="SAR 10", output="json")["contactpoint_id"]


def test_another_authoritys_team_gets_a_refusal_on_the_page_too(la, manchester, client):
    profile = make_user("sar-manchester", role="la_management", organisation="352")
    sign_in_verified(client, profile.user)
    url = reverse("subject_access:export", args=[child("G1").contactpoint_id])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reference": "SAR 2026/7", "output": "json"}).status_code == 403
    refused = AuditEvent.objects.filter(event_type=EventType.EXPORT, outcome=Outcome.DENIED)
    assert (
        refused.count() == 2
        and not AuditEvent.objects.filter(event_type=EventType.EXPORT, outcome=Outcome.SUCCESS).exists()
    )


def test_the_page_and_the_json_download(la, client):
    profile = make_user("sar-team", role="la_management")
    sign_in_verified(client, profile.user)
    url = reverse("subject_access:export", args=[child("G1").contactpoint_id])
    assert "Subject access request" in client.get(url).content.decode()
    missing = client.post(url, {"output": "html"}).content.decode()
    assert "Enter the request&#39;s reference" in missing or "Enter the request's reference" in missing
    page = client.post(url, {"reference": "SAR 2026/7", "output": "html"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "govuk-table" in text and "Quennel-Hart" in text and "Quennell" in text
    download = client.post(url, {"reference": "SAR 2026/7", "output": "json"})
    assert download["Content-Type"] == "application/json"
    assert json.loads(download.content)["contactpoint_id"] == child("G1").contactpoint_id


def test_a_practitioner_cannot_open_the_export_page(la, client):
    profile = make_user("sar-practitioner")
    sign_in_verified(client, profile.user)
    url = reverse("subject_access:export", args=[child("G1").contactpoint_id])
    assert client.get(url).status_code == 403


def correct(actor, **changes):
    answer = dict(
        actor=actor,
        child=child("G1"),
        item="ChildName",
        field="given_name",
        source_code="la_childrens_services",
        source_record_id="G1",
        corrected_value="Ivie",
        requested_by="The young person, by letter of 3 November",
    )
    return rectification_record(**{**answer, **changes})


def test_a_correction_is_recorded_with_who_asked_and_the_source_is_owed_a_notice(la):
    team = actor_for("la_management", la)
    rectification = correct(team)
    assert (rectification.current_value, rectification.corrected_value) == ("Ivy", "Ivie")
    notice = SourceNotification.objects.get()
    assert (notice.source.code, notice.rectification, notice.delivered_at) == (
        "la_childrens_services",
        rectification,
        None,
    )
    event = AuditEvent.objects.filter(event_type=EventType.CHANGE).latest("id")
    assert event.details["rectification"] == rectification.pk
    assert "Ivie" not in json.dumps(event.details)  # the log holds ids, not values


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"field": "case_notes"}, "not a statutory item"),
        ({"item": "Diagnosis"}, "not a statutory item"),
        ({"source_record_id": "NOPE"}, "asserts no current"),
        ({"corrected_value": "Ivy"}, "already held"),
        ({"requested_by": "  "}, "who asked"),
    ],
)
def test_a_bad_correction_is_refused_with_a_message_and_writes_nothing(la, changes, message):
    with pytest.raises(ValidationError, match=message):
        correct(actor_for("la_management", la), **changes)
    assert not Rectification.objects.exists() and not SourceNotification.objects.exists()


def test_the_correction_command(la):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    make_user("sar-recorder", role="la_management")
    options = [
        child("G1").contactpoint_id,
        "--by",
        "sar-recorder",
        "--source",
        "la_childrens_services",
        "--source-record-id",
        "G1",
        "--item",
        "ChildName",
        "--field",
    ]
    out = io.StringIO()
    call_command(
        "record_correction", *options, "given_name", "--value", "Ivie", "--requested-by", "Her", stdout=out
    )
    assert "'Ivy' -> 'Ivie'" in out.getvalue()
    with pytest.raises(CommandError, match="not a statutory item"):
        call_command("record_correction", *options, "case_notes", "--value", "x", "--requested-by", "Her")
    assert Rectification.objects.count() == 1
