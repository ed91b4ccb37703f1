"""The second step of signing in (a code or a security key), enrolment, the user's own security
page, and "confirm it's you" before sensitive acts."""

import base64
from typing import Any

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.middleware import csrf
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticToken

from contactpoint.audit.models import EventType, Outcome
from contactpoint.audit.services import audit_record

from . import mfa
from .reauth import recent_second_factor_required


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


def _next(request: HttpRequest) -> str:
    target = request.GET.get("next") or request.POST.get("next") or "/"
    return target if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) else "/"


def _audit_second_factor(request: HttpRequest, *, passed: bool, how: str) -> None:
    audit_record(
        event_type=EventType.SIGN_IN if passed else EventType.SIGN_IN_FAILED,
        outcome=Outcome.SUCCESS if passed else Outcome.DENIED,
        username=request.user.get_username(),
        client=request.META.get("REMOTE_ADDR", ""),
        details={"user_id": request.user.pk, "step": "second_factor", "device": how},
    )


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    if not user_has_device(request.user):
        return redirect("access:set_up")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.second_factor_verify(user=request.user, token=form.cleaned_data["code"])
        _audit_second_factor(request, passed=device is not None, how=type(device).__name__ if device else "")
        if device is not None:
            mfa.second_factor_passed(request, device)
            return redirect(_next(request))
        form.add_error(
            "code",
            "The code is not right. Enter the 6-digit code from your authenticator app, or a recovery code.",
        )
    context = {"form": form, "next": _next(request), "webauthn": _key_config_if_enrolled(request)}
    return render(request, "access/verify.html", context)


@login_required
def set_up(request: HttpRequest) -> HttpResponse:
    if user_has_device(request.user):
        return redirect("access:verify")
    device = mfa.totp_device_for_enrolment(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = mfa.totp_confirm(device=device, token=form.cleaned_data["code"])
        _audit_second_factor(request, passed=codes is not None, how="enrolment")
        if codes is not None:
            mfa.second_factor_passed(request, device)
            return render(request, "access/recovery_codes.html", {"codes": codes, "next": _next(request)})
        form.add_error("code", "The code is not right. Check the time on your device and try again.")
    secret = base64.b32encode(device.bin_key).decode()
    qr_svg = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage).to_string(
        encoding="unicode"
    )
    context = {"form": form, "secret": secret, "qr_svg": qr_svg, "next": _next(request)}
    return render(request, "access/set_up.html", context)


def _key_config(request: HttpRequest) -> dict[str, Any]:
    """What the security-key scripts need, read from a JSON data block (no inline script runs)."""
    return {
        "autocompleteLoginFieldSelector": None,
        "nextFieldSelector": "input[name='next']",
        "csrfToken": csrf.get_token(request),
        "beginAuthenticationUrl": reverse("access:key_authentication_begin"),
        "completeAuthenticationUrl": reverse("access:key_authentication_complete"),
        "beginRegistrationUrl": reverse("access:key_registration_begin"),
        "completeRegistrationUrl": reverse("access:key_registration_complete"),
    }


def _key_config_if_enrolled(request: HttpRequest) -> dict[str, Any] | None:
    """Offer a key only to a user who has one; everyone else sees the code form alone."""
    return _key_config(request) if mfa.security_keys_for(request.user) else None


@login_required
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])  # removing a key changes how the account signs in
def security(request: HttpRequest) -> HttpResponse:
    """The user's own second factors: add a security key or passkey, or remove one."""
    if request.method == "POST":
        try:
            mfa.security_key_remove(
                user=request.user, key_id=int(request.POST.get("key", "0") or 0), client=_remote(request)
            )
        except (ValidationError, ValueError):
            messages.error(request, "That security key is not registered to your account.")
        else:
            messages.success(request, "The security key was removed.")
        return redirect("account:security")
    context = {
        "keys": mfa.security_keys_for(request.user),
        "recovery_codes_left": StaticToken.objects.filter(device__user=request.user).count(),
        "webauthn": _key_config(request),
    }
    return render(request, "access/security.html", context)


def _remote(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


@login_required
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """ "Confirm it's you": a fresh second factor before a sensitive act, then back to it."""
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa.second_factor_verify(user=request.user, token=form.cleaned_data["code"])
        _audit_second_factor(request, passed=device is not None, how=type(device).__name__ if device else "")
        if device is not None:
            mfa.second_factor_passed(request, device)
            messages.success(request, "You have confirmed it's you. You can carry on.")
            return redirect(_next(request))
        form.add_error("code", "The code is not right. Enter the 6-digit code from your authenticator app.")
    context = {
        "form": form,
        "next": _next(request),
        "webauthn": _key_config_if_enrolled(request),
        "title": "Confirm it's you",
        "intro": "What you are about to do is sensitive, so ContactPoint needs to check it is still you.",
    }
    return render(request, "access/verify.html", context)
