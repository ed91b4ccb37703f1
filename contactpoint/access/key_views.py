"""Security keys and passkeys: the WebAuthn ceremonies of django-otp-webauthn, with our rules.

The library does the cryptography (py_webauthn) and keeps the credentials as django-otp devices.
These subclasses add what ContactPoint needs: a key is added only by a session that has already
passed a second factor (so a stolen password cannot enrol the thief's key), keys are a second
factor only (never a way to skip the password and its vetting check), and every enrolment and
every use, good or bad, goes to the audit log.
"""

import json

from django.http import HttpRequest, JsonResponse
from django_otp_webauthn import exceptions
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from contactpoint.audit.models import EventType, Outcome
from contactpoint.audit.services import audit_record

from . import mfa


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def _require_verified(request: HttpRequest) -> None:
    if not getattr(request.user, "is_verified", lambda: False)():
        raise exceptions.NotVerified(
            detail="Sign in with your authenticator app before you add a security key."
        )


def _require_password_step(request: HttpRequest) -> None:
    if not request.user.is_authenticated:  # a key follows the password, never replaces it
        raise exceptions.PasswordlessLoginDisabled()


class KeyRegistrationBegin(BeginCredentialRegistrationView):
    def check_can_register(self):
        _require_verified(self.request)


class KeyRegistrationComplete(CompleteCredentialRegistrationView):
    def check_can_register(self):
        _require_verified(self.request)

    def post(self, *args, **kwargs):
        response = super().post(*args, **kwargs)
        device = mfa.WebAuthnCredential.objects.get(pk=_json(response)["id"])
        mfa.security_key_enrolled_record(user=self.request.user, device=device, client=_client(self.request))
        return response

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.OTPWebAuthnApiError) and self.request.user.is_authenticated:
            audit_record(
                event_type=EventType.ROLE_OR_VETTING,
                outcome=Outcome.DENIED,
                username=self.request.user.get_username(),
                client=_client(self.request),
                details={"action": "security_key_added", "refused": exc.code},
            )
        return super().handle_exception(exc)


class KeyAuthenticationBegin(BeginCredentialAuthenticationView):
    def check_can_authenticate(self):
        _require_password_step(self.request)
        super().check_can_authenticate()


class KeyAuthenticationComplete(CompleteCredentialAuthenticationView):
    def check_can_authenticate(self):
        _require_password_step(self.request)
        super().check_can_authenticate()

    def complete_auth(self, device):
        mfa.second_factor_passed(self.request, device)
        _audit_key_use(self.request, passed=True)

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.OTPWebAuthnApiError) and self.request.user.is_authenticated:
            _audit_key_use(self.request, passed=False, refused=exc.code)
        return super().handle_exception(exc)


def _audit_key_use(request: HttpRequest, *, passed: bool, refused: str = "") -> None:
    details = {"user_id": request.user.pk, "step": "second_factor", "device": "WebAuthnCredential"}
    audit_record(
        event_type=EventType.SIGN_IN if passed else EventType.SIGN_IN_FAILED,
        outcome=Outcome.SUCCESS if passed else Outcome.DENIED,
        username=request.user.get_username(),
        client=_client(request),
        details=details | ({"refused": refused} if refused else {}),
    )


def _json(response: JsonResponse) -> dict:
    return json.loads(response.content)
