"""Security keys and passkeys (WebAuthn) as a second factor: enrolment, sign-in, removal, audit."""

import json

import pytest
from django.urls import reverse
from django_otp_webauthn.models import WebAuthnCredential

from contactpoint.access.tests.factories import TEST_PASSWORD, make_user, sign_in_verified
from contactpoint.access.tests.soft_authenticator import SoftAuthenticator, b64url
from contactpoint.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def post_json(client, name, body=None):
    return client.post(reverse(name), json.dumps(body or {}), content_type="application/json")


def enrol(client, key: SoftAuthenticator):
    options = post_json(client, "access:key_registration_begin")
    assert options.status_code == 200, options.content
    return post_json(client, "access:key_registration_complete", key.register(options.json()))


def password_only(client, name):
    client.post(reverse("web:login"), {"username": name, "password": TEST_PASSWORD})


def test_registration_options_name_the_service_and_exclude_keys_already_held(client):
    user = make_user("keyholder").user
    sign_in_verified(client, user)
    first = post_json(client, "access:key_registration_begin").json()
    assert first["rp"] == {"name": "ContactPoint", "id": "localhost"}
    assert first["user"]["name"] == "keyholder" and first["excludeCredentials"] == []
    assert enrol(client, SoftAuthenticator()).status_code == 200
    second = post_json(client, "access:key_registration_begin").json()
    assert len(second["excludeCredentials"]) == 1 and second["challenge"] != first["challenge"]


def test_a_verified_user_adds_a_key_and_the_adding_is_audited(client):
    user = make_user("adder").user
    sign_in_verified(client, user)
    response = enrol(client, SoftAuthenticator())
    assert response.status_code == 200
    key = WebAuthnCredential.objects.get(user=user)
    assert key.confirmed and key.name == "Security key 1"
    event = AuditEvent.objects.get(details__action="security_key_added")
    assert event.actor_username == "adder" and event.outcome == "success"
    page = client.get(reverse("account:security")).content.decode()
    assert "Security key 1" in page and 'id="otp_webauthn_config"' in page


def test_a_password_alone_cannot_add_a_key(client):
    """A stolen password must not let the thief enrol a key of their own."""
    user = make_user("stolen").user
    password_only(client, "stolen")
    refused = post_json(client, "access:key_registration_begin")
    assert refused.status_code == 403
    assert not WebAuthnCredential.objects.filter(user=user).exists()


def test_a_response_to_another_challenge_is_refused_and_audited(client):
    user = make_user("replayer").user
    sign_in_verified(client, user)
    key = SoftAuthenticator()
    post_json(client, "access:key_registration_begin")
    forged = key.register({"challenge": "bm90LXRoZS1jaGFsbGVuZ2U"})
    response = post_json(client, "access:key_registration_complete", forged)
    assert response.status_code == 422 and response.json()["code"] == "invalid_registration_response"
    assert not WebAuthnCredential.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(details__action="security_key_added", outcome="denied").exists()


def test_signing_in_with_a_key_instead_of_a_code(client):
    user = make_user("signer").user
    sign_in_verified(client, user)
    key = SoftAuthenticator()
    enrol(client, key)
    client.post(reverse("web:logout"))

    password_only(client, "signer")
    assert client.get(reverse("web:home"))["Location"].startswith(reverse("access:verify"))
    page = client.get(reverse("access:verify")).content.decode()
    assert "Use your security key" in page and "otp_webauthn_auth.js" in page
    options = post_json(client, "access:key_authentication_begin").json()
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(key.credential_id)]
    done = client.post(
        reverse("access:key_authentication_complete") + "?next=/activity/",
        json.dumps(key.authenticate(options)),
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["redirect_url"] == "/activity/"
    assert client.get(reverse("web:home")).status_code == 200
    assert WebAuthnCredential.objects.get().sign_count == 1
    steps = AuditEvent.objects.filter(
        actor_username="signer", event_type="sign_in", details__step="second_factor"
    )
    assert steps.filter(details__device="WebAuthnCredential").count() == 1


def test_a_bad_signature_does_not_sign_in_and_is_audited(client):
    user = make_user("forger").user
    sign_in_verified(client, user)
    enrol(client, SoftAuthenticator())
    client.post(reverse("web:logout"))
    password_only(client, "forger")
    options = post_json(client, "access:key_authentication_begin").json()
    impostor = SoftAuthenticator(credential_id=WebAuthnCredential.objects.get().credential_id)
    refused = post_json(client, "access:key_authentication_complete", impostor.authenticate(options))
    assert refused.status_code == 422
    assert client.get(reverse("web:home")).status_code == 302
    assert AuditEvent.objects.filter(
        actor_username="forger", event_type="sign_in_failed", details__device="WebAuthnCredential"
    ).exists()


def test_a_key_never_replaces_the_password(client):
    """Passwordless sign-in would skip the vetting check: keys are a second factor only."""
    assert post_json(client, "access:key_authentication_begin").status_code == 403


def test_a_user_removes_their_own_key_only_and_removal_is_audited(client):
    owner = make_user("owner").user
    other = make_user("other").user
    sign_in_verified(client, other)
    enrol(client, SoftAuthenticator())
    others_key = WebAuthnCredential.objects.get(user=other)
    client.post(reverse("web:logout"))

    sign_in_verified(client, owner)
    enrol(client, SoftAuthenticator())
    own_key = WebAuthnCredential.objects.get(user=owner)
    client.post(reverse("account:security"), {"key": others_key.pk})
    assert WebAuthnCredential.objects.filter(pk=others_key.pk).exists()
    client.post(reverse("account:security"), {"key": "not-a-number"})
    client.post(reverse("account:security"), {"key": own_key.pk})
    assert not WebAuthnCredential.objects.filter(pk=own_key.pk).exists()
    removed = AuditEvent.objects.get(details__action="security_key_removed")
    assert removed.actor_username == "owner" and removed.details["key_id"] == own_key.pk
