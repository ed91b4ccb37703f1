"""The headers every page carries, and the production settings that harden cookies and transport."""

import json
import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.tests.test_settings import SECRETS, run_settings

pytestmark = pytest.mark.django_db


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_pages_forbid_inline_scripts_and_framing(client):
    response = client.get(reverse("web:login"))
    csp = _csp(response)
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_no_page_carries_an_inline_script_or_style(client):
    profile = make_user("headers")
    sign_in_verified(client, profile.user)
    pages = [reverse("web:home"), reverse("web:search"), reverse("web:activity")]
    anonymous = Client().get(reverse("web:login"))
    for html in [anonymous.content.decode()] + [client.get(page).content.decode() for page in pages]:
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
        assert scripts, "every page loads the enhancement module"
        assert all("src=" in attributes and not body.strip() for attributes, body in scripts)
        assert "<style" not in html and " style=" not in html


def test_every_form_on_a_page_carries_the_csrf_token(client):
    profile = make_user("forms")
    sign_in_verified(client, profile.user)
    html = client.get(reverse("web:search")).content.decode()
    forms = re.findall(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
    assert len(forms) == 2  # sign-out and the search itself
    assert all('name="csrfmiddlewaretoken"' in body for body in forms)


def test_a_post_without_the_csrf_token_is_refused():
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("web:login"), {"username": "x", "password": "y"})
    assert response.status_code == 403


@override_settings(
    SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SESSION_COOKIE_SECURE=True
)
def test_https_responses_carry_hsts_and_secure_session_cookies(client):
    response = client.get(reverse("web:login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    make_user("cookie")
    signed_in = client.post(
        reverse("web:login"), {"username": "cookie", "password": "a-long-password-for-tests"}, secure=True
    )
    assert signed_in.cookies["sessionid"]["secure"] is True
    assert signed_in.cookies["sessionid"]["httponly"] is True


def test_production_settings_turn_on_hsts_secure_cookies_and_https():
    code = (
        "import django, json; from django.conf import settings; django.setup(); print(json.dumps(["
        "settings.SECURE_HSTS_SECONDS, settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        "settings.SECURE_SSL_REDIRECT, settings.X_FRAME_OPTIONS, bool(settings.SECURE_CSP)]))"
    )
    result = run_settings("contactpoint.settings.production", SECRETS, code=code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [31536000, True, True, True, "DENY", True]
