"""Every interactive sign-in needs a second factor; sessions time out; repeated failures lock out."""

import io
import re
import time

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from contactpoint.access.middleware import LAST_SEEN, SIGNED_IN_AT
from contactpoint.access.tests.factories import TEST_PASSWORD
from contactpoint.access.tests.factories import make_user as make_profile

pytestmark = pytest.mark.django_db
PASSWORD = TEST_PASSWORD


def make_user(name, role="practitioner"):
    return make_profile(name, role).user


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():0{device.digits}d}"


def reset_throttles(user) -> None:
    """django-otp slows retries after a wrong code; tests that get one wrong on purpose wait no longer."""
    from django_otp import devices_for_user

    for device in devices_for_user(user, confirmed=None):
        device.throttle_reset()


def sign_in(client, name):
    return client.post(reverse("web:login"), {"username": name, "password": PASSWORD})


def test_a_password_alone_opens_nothing_and_first_sign_in_enrols_an_authenticator(client):
    user = make_user("new")
    sign_in(client, "new")
    response = client.get(reverse("web:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("access:set_up"))
    page = client.get(reverse("access:set_up"))
    assert "Key:" in page.content.decode() and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = client.post(
        reverse("access:set_up"), {"code": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "not right" in wrong.content.decode()
    reset_throttles(user)
    done = client.post(reverse("access:set_up"), {"code": code_for(device)})
    assert "recovery codes" in done.content.decode().lower()
    assert client.get(reverse("web:home")).status_code == 200


def test_a_returning_user_must_enter_a_code_and_recovery_codes_work_once(client):
    user = make_user("back")
    sign_in(client, "back")
    client.get(reverse("access:set_up"))
    device = TOTPDevice.objects.get(user=user)
    shown = client.post(reverse("access:set_up"), {"code": code_for(device)}).content.decode()
    recovery = re.findall(r"<li><code>([^<]+)</code></li>", shown)
    assert len(recovery) >= 5
    client.post(reverse("web:logout"))

    sign_in(client, "back")
    assert client.get(reverse("web:home"))["Location"].startswith(reverse("access:verify"))
    bad = client.post(reverse("access:verify"), {"code": "12345678"})
    assert bad.status_code == 200 and "not right" in bad.content.decode()
    reset_throttles(user)
    assert client.post(reverse("access:verify"), {"code": recovery[0]}).status_code == 302
    assert client.get(reverse("web:home")).status_code == 200

    client.post(reverse("web:logout"))
    sign_in(client, "back")
    reused = client.post(reverse("access:verify"), {"code": recovery[0]})
    assert "not right" in reused.content.decode()
    reset_throttles(user)
    assert client.post(reverse("access:verify"), {"code": code_for(device, offset=30)}).status_code == 302


def test_the_admin_also_needs_the_second_factor(client):
    user = make_user("admin", role="system_admin")
    user.is_staff = user.is_superuser = True
    user.save()
    sign_in(client, "admin")
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("access:verify"))


def verified_session(client, name):
    user = make_user(name)
    sign_in(client, name)
    client.get(reverse("access:set_up"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("access:set_up"), {"code": code_for(device)})
    assert client.get(reverse("web:home")).status_code == 200


@pytest.mark.parametrize("key", [LAST_SEEN, SIGNED_IN_AT])
def test_idle_and_absolute_time_outs_sign_the_user_out(client, key):
    verified_session(client, f"idle-{key}")
    session = client.session
    session[key] = time.time() - 9 * 60 * 60  # longer than both the idle and the absolute limits
    session.save()
    response = client.get(reverse("web:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("web:login"))
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_account_out(client):
    make_user("target")
    wrong = {"username": "target", "password": "wrong"}
    attempts = [client.post(reverse("web:login"), wrong).status_code for _ in range(5)]
    assert attempts == [200, 200, 200, 200, 429]  # the fifth failure locks
    locked = sign_in(client, "target")
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_demo_code_prints_the_current_code_for_the_demo_key():
    from contactpoint.web.management.commands.demo import DEMO_TOTP_KEY_HEX

    out = io.StringIO()
    call_command("demo_code", stdout=out)
    device = TOTPDevice(key=DEMO_TOTP_KEY_HEX)
    assert out.getvalue().strip() in {code_for(device, -1), code_for(device), code_for(device, 1)}


def test_wrong_codes_slow_further_attempts(client):
    user = make_user("guesser")
    sign_in(client, "guesser")
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    client.post(reverse("access:verify"), {"code": "000000" if code_for(device) != "000000" else "111111"})
    throttled = client.post(reverse("access:verify"), {"code": code_for(device)})
    assert "not right" in throttled.content.decode()  # even the right code waits out the delay


def test_second_factor_attempts_are_audited(client):
    from contactpoint.audit.models import AuditEvent

    user = make_user("audited")
    sign_in(client, "audited")
    client.get(reverse("access:set_up"))
    device = TOTPDevice.objects.get(user=user)
    client.post(reverse("access:set_up"), {"code": code_for(device)})
    steps = AuditEvent.objects.filter(actor_username="audited").values_list("event_type", "details__step")
    assert ("sign_in", "password") in list(steps) and ("sign_in", "second_factor") in list(steps)
