"""Involvements, carers and address reports: writes through access services, ETags, conflicts."""

import datetime

import pytest

from contactpoint.audit.models import AuditEvent, EventType, Outcome
from contactpoint.records import sealed
from contactpoint.records.models import ChildAddress, Involvement
from contactpoint.records.selectors import users_source_code

from .conftest import client_for

pytestmark = pytest.mark.django_db


def base(world) -> str:
    return f"/api/v1/children/{world.child.contactpoint_id}"


def start(client, world, **body):
    payload = {"service_type": "early_help", "practitioner": {"given_name": "Priya", "family_name": "Shah"}}
    return client.post(f"{base(world)}/involvements", {**payload, **body}, format="json")


def test_lists_involvements_paginated(world, practitioner):
    response = practitioner.get(f"{base(world)}/involvements")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["next"] is None
    assert body["results"][0]["service_type"] == "social_care"
    assert body["results"][0]["etag"].startswith('"')


def test_lists_carers(world, practitioner):
    body = practitioner.get(f"{base(world)}/carers").json()
    assert [(c["family_name"], c["contact"]["phone"]) for c in body["results"]] == [("Khan", "07700 900001")]


def test_recording_my_involvement_is_a_change_with_provenance_and_audit(world, practitioner):
    response = start(practitioner, world)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organisation"]["code"] == world.school.code
    assert body["practitioner"]["name"] == "Priya Shah"
    assert response["ETag"] == body["etag"]
    assert response["Location"].endswith(f"/involvements/{body['id']}")
    stored = Involvement.objects.get(pk=body["id"])
    assert stored.source.code == users_source_code(world.school)
    event = AuditEvent.objects.get(event_type=EventType.CHANGE, outcome=Outcome.SUCCESS)
    assert event.details["action"] == "involvement_started" and event.child_ids == [
        world.child.contactpoint_id
    ]
    again = practitioner.get(f"{base(world)}/involvements/{body['id']}")
    assert again.status_code == 200 and again["ETag"] == body["etag"]


def test_a_field_outside_the_record_is_refused_by_name_and_nothing_is_stored(world, practitioner):
    response = start(practitioner, world, case_notes="Mother seemed anxious")
    assert response.status_code == 400
    assert "case_notes" in response.json()["errors"]
    assert Involvement.objects.count() == 1


def test_a_sensitive_service_needs_its_basis(world, practitioner):
    response = start(practitioner, world, service_type="mental_health")
    assert response.status_code == 400
    assert Involvement.objects.count() == 1
    assert (
        start(practitioner, world, service_type="mental_health", sensitive_basis="consent").status_code == 201
    )


def test_a_role_that_may_not_record_is_403_and_audited(world):
    partner = client_for(world.token("dwp", "national_partner", world.nhs))
    assert start(partner, world).status_code == 403
    assert AuditEvent.objects.filter(event_type=EventType.CHANGE, outcome=Outcome.DENIED).exists()


def test_writes_need_a_reason(world):
    assert start(client_for(world.token("pat"), reason=None), world).status_code == 400


def test_writes_to_an_unknown_child_are_404(world, practitioner):
    response = practitioner.post("/api/v1/children/CP0000000000000/involvements", {}, format="json")
    assert response.status_code == 404


def patch(client, world, involvement_id, body, etag):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.patch(f"{base(world)}/involvements/{involvement_id}", body, format="json", **headers)


def test_lead_professional_and_caf_with_if_match(world, practitioner):
    created = start(practitioner, world).json()
    response = patch(
        practitioner, world, created["id"], {"is_lead_professional": True, "has_caf": True}, created["etag"]
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["is_lead_professional"], body["has_caf"]) == (True, True)
    assert body["etag"] != created["etag"]
    event = AuditEvent.objects.filter(details__action="involvement_changed").get()
    assert event.details["changed"] == ["has_caf", "is_lead_professional"]


def test_a_change_without_if_match_is_428_and_a_stale_one_412(world, practitioner):
    created = start(practitioner, world).json()
    missing = patch(practitioner, world, created["id"], {"has_caf": True}, None)
    assert missing.status_code == 428
    assert missing.json()["type"] == "urn:contactpoint:problem:if-match-required"
    assert patch(practitioner, world, created["id"], {"has_caf": True}, created["etag"]).status_code == 200
    stale = patch(practitioner, world, created["id"], {"end_date": "2026-12-01"}, created["etag"])
    assert stale.status_code == 412
    assert Involvement.objects.get(pk=created["id"]).end_date is None


def test_a_second_active_lead_professional_is_409(world, practitioner):
    lead = start(practitioner, world, is_lead_professional=True)
    assert lead.status_code == 201
    other = client_for(world.token("gp-nurse", organisation=world.gp))
    second = start(other, world, is_lead_professional=True)
    assert second.status_code == 409
    assert Involvement.objects.filter(is_lead_professional=True).count() == 1
    created = start(other, world).json()
    conflict = patch(other, world, created["id"], {"is_lead_professional": True}, created["etag"])
    assert conflict.status_code == 409 and conflict.json()["type"] == "urn:contactpoint:problem:conflict"


def test_ending_an_involvement_frees_the_lead_role(world, practitioner):
    lead = start(practitioner, world, is_lead_professional=True).json()
    today = datetime.date.today().isoformat()
    ended = patch(practitioner, world, lead["id"], {"end_date": today}, lead["etag"])
    assert ended.status_code == 200 and ended.json()["end_date"] == today
    other = client_for(world.token("gp-nurse", organisation=world.gp))
    assert start(other, world, is_lead_professional=True).status_code == 201


def test_another_organisations_involvement_is_403_and_a_feeds_is_409(world, practitioner):
    created = start(practitioner, world).json()
    other = client_for(world.token("gp-nurse", organisation=world.gp))
    assert patch(other, world, created["id"], {"has_caf": True}, created["etag"]).status_code == 403
    la = client_for(world.token("sw", organisation=world.la))
    fed = la.get(f"{base(world)}/involvements").json()["results"][0]
    response = patch(la, world, fed["id"], {"has_caf": True}, fed["etag"])
    assert response.status_code == 409 and "feed" in response.json()["detail"]


def test_an_end_before_the_start_is_400(world, practitioner):
    created = start(practitioner, world, start_date="2026-02-01").json()
    response = patch(practitioner, world, created["id"], {"end_date": "2026-01-31"}, created["etag"])
    assert response.status_code == 400
    assert Involvement.objects.get(pk=created["id"]).end_date is None


def test_an_unknown_involvement_is_404(world, practitioner):
    assert patch(practitioner, world, 999999, {"has_caf": True}, '"x"').status_code == 404
    assert practitioner.get(f"{base(world)}/involvements/999999").status_code == 404


def test_an_empty_change_is_400(world, practitioner):
    created = start(practitioner, world).json()
    assert patch(practitioner, world, created["id"], {}, created["etag"]).status_code == 400


def test_an_address_change_is_reported_with_provenance(world, practitioner):
    response = practitioner.post(
        f"{base(world)}/address",
        {"address_line_1": "4 Elm Street", "town": "Leeds", "postcode": "ls71aa"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == users_source_code(world.school) and body["shown"] is False  # rank 10 wins
    (reported,) = sealed.values_opened(
        ChildAddress.objects.filter(source__code=body["source"]), "source_record_id"
    )
    assert (reported["postcode"], reported["source_record_id"]) == ("LS7 1AA", body["source_record_id"])
    la = client_for(world.token("sw", organisation=world.la))
    response = la.post(f"{base(world)}/address", {"status": "no_fixed_address"}, format="json")
    assert response.status_code == 201
    assert ChildAddress.objects.filter(superseded_at__isnull=True).count() == 3  # history is kept


def test_a_bad_address_is_400_and_nothing_is_stored(world, practitioner):
    response = practitioner.post(f"{base(world)}/address", {"postcode": "NOT A CODE"}, format="json")
    assert response.status_code == 400 and "postcode" in response.json()["errors"]
    response = practitioner.post(f"{base(world)}/address", {"status": "current"}, format="json")
    assert response.status_code == 400  # a current address needs a line or a postcode
    assert ChildAddress.objects.count() == 1


def test_a_shielded_childs_address_cannot_be_changed_by_those_who_cannot_see_it(world, practitioner):
    world.shield()
    response = practitioner.post(f"{base(world)}/address", {"postcode": "LS7 1AA"}, format="json")
    assert response.status_code == 403
    assert ChildAddress.objects.count() == 1
