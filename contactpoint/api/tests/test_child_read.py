"""GET /api/v1/children/{id}: authentication, the reason, the 403 / 404 rule, and shielding."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from contactpoint.access.models import ApiToken
from contactpoint.audit.models import AuditEvent, EventType, Outcome

from .conftest import REASON, client_for

pytestmark = pytest.mark.django_db


def url(child_id: str) -> str:
    return f"/api/v1/children/{child_id}"


def test_a_practitioner_reads_the_record_and_the_view_is_audited(world, practitioner):
    response = practitioner.get(url(world.child.contactpoint_id))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == world.child.contactpoint_id
    assert body["name"]["family_name"] == "Khan"
    assert body["address"]["postcode"] == "LS6 2AB"
    assert [c["contact"]["phone"] for c in body["carers"]] == ["07700 900001"]
    assert body["identifiers"] == []  # the NHS number was issued by another body
    assert response["ETag"].startswith('"')
    event = AuditEvent.objects.get(event_type=EventType.VIEW)
    assert (event.actor_username, event.reason, event.child_ids) == (
        "pat",
        REASON,
        [world.child.contactpoint_id],
    )


def test_staff_of_the_issuing_body_see_its_identifier(world):
    body = (
        client_for(world.token("nurse", organisation=world.nhs)).get(url(world.child.contactpoint_id)).json()
    )
    assert [i["scheme"] for i in body["identifiers"]] == ["nhs_number"]


def test_no_reason_is_400_problem_details_and_nothing_is_shown(world):
    response = client_for(world.token("pat"), reason=None).get(url(world.child.contactpoint_id))
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:contactpoint:problem:missing-access-reason"
    assert body["status"] == 400 and "X-Access-Reason" in body["detail"]
    assert "name" not in body
    assert not AuditEvent.objects.filter(event_type=EventType.VIEW, outcome=Outcome.SUCCESS).exists()


@pytest.mark.parametrize("reason", ["   ", "x" * 501])
def test_a_blank_or_overlong_reason_is_400(world, reason):
    response = client_for(world.token("pat"), reason=reason).get(url(world.child.contactpoint_id))
    assert response.status_code == 400


def test_no_token_is_401_with_a_bearer_challenge(world):
    response = client_for(None).get(url(world.child.contactpoint_id))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


def test_an_unknown_token_is_401_invalid_token(world):
    response = client_for("cpt_not-a-token").get(url(world.child.contactpoint_id))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_expired_and_revoked_tokens_are_401(world):
    token = world.token("pat")
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert (
        client_for(token).get(url(world.child.contactpoint_id)).json()["detail"] == "The token has expired."
    )
    ApiToken.objects.update(expires_at=timezone.now() + datetime.timedelta(days=1), revoked_at=timezone.now())
    assert client_for(token).get(url(world.child.contactpoint_id)).status_code == 401


def test_a_suspended_account_is_refused_with_403(world):
    token = world.token("pat")
    from django.contrib.auth import get_user_model

    get_user_model().objects.filter(username="pat").update(is_active=False)
    response = client_for(token).get(url(world.child.contactpoint_id))
    assert response.status_code == 403
    assert "suspended" in response.json()["detail"]


def test_an_unvetted_account_is_refused_with_403_saying_why(world):
    response = client_for(world.token("new", vetted=False)).get(url(world.child.contactpoint_id))
    assert response.status_code == 403
    assert "DBS" in response.json()["detail"]


@pytest.mark.parametrize("role", ["auditor", "system_admin", "data_manager"])
def test_a_role_that_may_not_see_records_is_403_whether_or_not_the_child_exists(world, role):
    client = client_for(world.token(role, role=role, organisation=world.la))
    real = client.get(url(world.child.contactpoint_id))
    invented = client.get(url("CP0000000000000"))
    assert real.status_code == invented.status_code == 403
    assert real.json()["detail"] == invented.json()["detail"]
    assert AuditEvent.objects.filter(event_type=EventType.VIEW, outcome=Outcome.DENIED).count() == 2


def test_unknown_and_malformed_ids_are_404(world, practitioner):
    from contactpoint.records.services import contactpoint_id_generate

    for child_id in (contactpoint_id_generate(), "CP-nonsense", "%20"):
        response = practitioner.get(url(child_id))
        assert response.status_code == 404, child_id
        assert response["Content-Type"] == "application/problem+json"


def test_a_shielded_child_shows_only_what_the_shield_allows(world, practitioner):
    world.shield()
    body = practitioner.get(url(world.child.contactpoint_id)).json()
    assert (body["shielded"], body["restricted"]) == (True, True)
    assert body["name"]["family_name"] == "Khan"
    assert body["address"] is None and body["involvements"] == [] and body["gp_practices"] == []
    assert body["carers"] == [
        {
            "given_name": "Sara",
            "family_name": "Khan",
            "relationship": "",
            "has_parental_responsibility": None,
            "contact": None,
        }
    ]


def test_the_shielding_authority_sees_through_the_shield(world):
    world.shield()
    body = (
        client_for(world.token("team2", "la_management", world.la))
        .get(url(world.child.contactpoint_id))
        .json()
    )
    assert (body["shielded"], body["restricted"]) == (True, False)
    assert body["address"]["postcode"] == "LS6 2AB"


def test_an_unknown_url_under_api_is_a_problem_not_a_page(world, practitioner):
    for response in (practitioner.get("/api/v1/nothing-here"), practitioner.post("/api/v2/children/x")):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/problem+json"
    assert practitioner.get("/fhir/Nothing")["Content-Type"] == "application/fhir+json"


def test_a_wrong_method_is_405_problem_details(world, practitioner):
    response = practitioner.delete(f"/api/v1/children/{world.child.contactpoint_id}")
    assert response.status_code == 405 and response.json()["status"] == 405


@override_settings(
    REST_FRAMEWORK={
        **__import__("django.conf", fromlist=["settings"]).settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min", "feed": "1/min"},
    }
)
def test_each_token_has_its_own_rate_limit_and_429_says_when_to_retry(world):
    first, second = client_for(world.token("pat")), client_for(world.token("sam"))
    statuses = [first.get(url(world.child.contactpoint_id)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = first.get(url(world.child.contactpoint_id))
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert limited.json()["title"] == "Too Many Requests"
    assert second.get(url(world.child.contactpoint_id)).status_code == 200
