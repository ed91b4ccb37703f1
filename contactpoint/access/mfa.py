"""Second factors: an authenticator app (TOTP), security keys and passkeys (WebAuthn, through
django-otp-webauthn) and single-use recovery codes (django-otp)."""

import math
import time

import django_otp
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp import devices_for_user, verify_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record

RECOVERY_CODES = 10


def totp_device_for_enrolment(user) -> TOTPDevice:
    """The user's pending authenticator, created on first visit and reused until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_confirm(*, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm enrolment with a first code; returns fresh recovery codes, or None if the code is wrong."""
    if not device.verify_token(token.strip().replace(" ", "")):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return recovery_codes_replace(user=device.user)


@transaction.atomic
def recovery_codes_replace(*, user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def second_factor_verify(*, user, token: str) -> Device | None:
    """Check a code against each of the user's confirmed devices (authenticator, then recovery codes)."""
    token = token.strip().replace(" ", "")
    for device in devices_for_user(user, confirmed=True):
        verified = verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


SECOND_FACTOR_AT = "cp_second_factor_at"


def second_factor_passed(request, device: Device) -> None:
    """Mark the session verified by this device, now: re-authentication counts from this moment."""
    django_otp.login(request, device)
    request.session[SECOND_FACTOR_AT] = time.time()


def second_factor_age(request) -> float:
    """Seconds since this session last passed a second factor (infinite if it never has)."""
    passed_at = request.session.get(SECOND_FACTOR_AT)
    return time.time() - passed_at if passed_at else math.inf


def security_keys_for(user) -> list[WebAuthnCredential]:
    return list(WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at"))


@transaction.atomic
def security_key_enrolled_record(*, user, device: WebAuthnCredential, client: str = "") -> None:
    """A new key is named after its position and its adding is audited: keys are how people sign in."""
    device.name = device.name or f"Security key {WebAuthnCredential.objects.filter(user=user).count()}"
    device.save(update_fields=["name"])
    audit_record(
        event_type=EventType.ROLE_OR_VETTING,
        username=user.get_username(),
        client=client,
        details={"action": "security_key_added", "user_id": user.pk, "key_id": device.pk},
    )


@transaction.atomic
def security_key_remove(*, user, key_id: int, client: str = "") -> None:
    """Remove one of the user's own keys. The last second factor cannot go: the authenticator app
    stays, so an account is never left with a password alone."""
    device = WebAuthnCredential.objects.filter(user=user, pk=key_id).first()
    if device is None:
        raise ValidationError("That security key is not registered to your account.")
    device.delete()
    audit_record(
        event_type=EventType.ROLE_OR_VETTING,
        username=user.get_username(),
        client=client,
        details={"action": "security_key_removed", "user_id": user.pk, "key_id": key_id},
    )
