"""Refused bearer tokens are failed sign-ins in the audit log, and a flood cannot bloat the log."""

import datetime

from django.core.cache import cache
from django.utils import timezone

from contactpoint.access.models import ApiToken
from contactpoint.api import authentication
from contactpoint.audit.models import AuditEvent, EventType, Outcome

from .conftest import client_for


def url(world) -> str:
    return f"/api/v1/children/{world.child.contactpoint_id}"


def failures():
    return AuditEvent.objects.filter(event_type=EventType.SIGN_IN_FAILED, outcome=Outcome.DENIED).order_by(
        "pk"
    )


def test_unknown_expired_and_malformed_tokens_are_audited_without_the_token(world):
    assert client_for("cpt_not-a-real-token-at-all").get(url(world)).status_code == 401
    token = world.token("pat")
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client_for(token).get(url(world)).status_code == 401
    malformed = client_for(None)
    malformed.credentials(HTTP_AUTHORIZATION="Bearer two parts")
    assert malformed.get(url(world)).status_code == 401

    unknown, expired, bad_header = failures()
    assert unknown.client == "127.0.0.1 api token cpt_not-a-re"
    assert (unknown.details["channel"], unknown.details["status"]) == ("api", 401)
    assert expired.details["refused"] == "The token has expired."
    assert bad_header.client == "127.0.0.1" and "Authorization: Bearer" in bad_header.details["refused"]
    for event in failures():  # the log never holds a usable token
        assert token not in str(event.__dict__) and "not-a-real-token-at-all" not in str(event.__dict__)


def test_a_suspended_account_refused_with_403_is_audited_too(world):
    from django.contrib.auth import get_user_model

    token = world.token("pat")
    get_user_model().objects.filter(username="pat").update(is_active=False)
    assert client_for(token).get(url(world)).status_code == 403
    [event] = failures()
    assert event.details["status"] == 403 and event.client.endswith(f"api token {token[:12]}")


def test_no_token_at_all_is_not_a_failed_sign_in(world):
    assert client_for(None).get(url(world)).status_code == 401
    assert not failures().exists()


def test_a_flood_from_one_address_is_audited_a_few_times_and_counted(world):
    flood = client_for("cpt_guess")
    for _ in range(40):
        assert flood.get(url(world)).status_code == 401
    assert failures().count() == authentication.FAILURES_AUDITED_PER_ADDRESS
    cache.delete("cp:api-auth-failed:127.0.0.1")  # the window ends
    flood.get(url(world))
    latest = failures().last()
    assert (
        latest is not None and latest.details["held_back"] == 40 - authentication.FAILURES_AUDITED_PER_ADDRESS
    )
    assert failures().count() == authentication.FAILURES_AUDITED_PER_ADDRESS + 1


def test_many_addresses_together_are_capped_overall(world, monkeypatch):
    monkeypatch.setattr(authentication, "FAILURES_AUDITED_OVERALL", 7)
    for n in range(20):
        client_for("cpt_guess").get(url(world), REMOTE_ADDR=f"10.0.0.{n}")
    assert failures().count() == 7
    assert AuditEvent.objects.count() == 7  # nothing else was written for the flood
