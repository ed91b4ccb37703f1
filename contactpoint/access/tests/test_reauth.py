"""Sensitive acts need a second factor passed within CONTACTPOINT_REAUTH_SECONDS ("confirm it's you")."""

import time

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.mfa import SECOND_FACTOR_AT
from contactpoint.access.models import BreakGlassAlert
from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.access.tests.test_second_factor import code_for
from contactpoint.audit.models import AuditEvent
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
REASON = {"reason": "safeguarding", "details": "", "confirm": "on"}


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def age_second_factor(client, seconds: float) -> None:
    session = client.session
    session[SECOND_FACTOR_AT] = time.time() - seconds
    session.save()


def test_break_glass_after_the_window_asks_to_confirm_and_reveals_nothing_until_then(client, world, settings):
    settings.CONTACTPOINT_REAUTH_SECONDS = 300
    sign_in_verified(client, world.other_team)
    age_second_factor(client, 301)
    override = reverse("web:break_glass", args=[world.shielded.contactpoint_id])

    asked = client.post(override, REASON)
    assert asked.status_code == 302
    assert asked["Location"] == f"{reverse('account:confirm')}?next={override.replace('/', '%2F')}"
    assert not BreakGlassAlert.objects.exists()
    page = client.get(asked["Location"]).content.decode()
    assert "Confirm it" in page and "sensitive" in page

    device = TOTPDevice.objects.get(user=world.other_team)
    wrong = client.post(asked["Location"], {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 200 and "not right" in wrong.content.decode()
    device.throttle_reset()
    confirmed = client.post(asked["Location"], {"code": code_for(device)})
    assert confirmed.status_code == 302 and confirmed["Location"] == override
    revealed = client.post(override, REASON).content.decode()
    assert "Shield overridden" in revealed
    assert BreakGlassAlert.objects.count() == 1
    assert AuditEvent.objects.filter(
        actor_username=world.other_team.username, event_type="sign_in_failed", details__step="second_factor"
    ).exists()


def test_within_the_window_no_confirmation_is_asked(client, world, settings):
    settings.CONTACTPOINT_REAUTH_SECONDS = 300
    sign_in_verified(client, world.other_team)
    age_second_factor(client, 299)
    override = reverse("web:break_glass", args=[world.shielded.contactpoint_id])
    assert client.get(override).status_code == 200


def test_the_window_comes_from_settings(client, world, settings):
    settings.CONTACTPOINT_REAUTH_SECONDS = 10
    sign_in_verified(client, world.other_team)
    age_second_factor(client, 60)
    override = reverse("web:break_glass", args=[world.shielded.contactpoint_id])
    assert client.get(override)["Location"].startswith(reverse("account:confirm"))


def test_a_session_that_never_recorded_its_second_factor_time_must_confirm(client, world):
    sign_in_verified(client, world.other_team)
    session = client.session
    del session[SECOND_FACTOR_AT]
    session.save()
    override = reverse("web:break_glass", args=[world.shielded.contactpoint_id])
    assert client.get(override)["Location"].startswith(reverse("account:confirm"))


def test_confirm_sends_only_to_this_service(client, world):
    sign_in_verified(client, world.other_team)
    device = TOTPDevice.objects.get(user=world.other_team)
    answer = client.post(
        f"{reverse('account:confirm')}?next=https://evil.example/", {"code": code_for(device)}
    )
    assert answer["Location"] == "/"


def test_exports_and_account_suspension_need_a_fresh_second_factor(client, world):
    sign_in_verified(client, world.other_team)
    age_second_factor(client, 3600)
    export = reverse("audit:report", args=["user_activity"]) + f"?user={world.other_team.username}&format=csv"
    asked = client.get(export)
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("account:confirm"))
    age_second_factor(client, 0)
    fresh = client.get(export)
    assert fresh.status_code == 200 and fresh["Content-Type"].startswith("text/csv")
    age_second_factor(client, 3600)
    alert_page = reverse("audit:alert", args=[1])
    assert client.post(alert_page, {"action": "suspend", "reason": "x"})["Location"].startswith(
        reverse("account:confirm")
    )
