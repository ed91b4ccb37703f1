"""Vetting at sign-in and for tokens, bearer tokens, and the shield_child command."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse

from contactpoint.access.models import ApiToken, Profile, Shield
from contactpoint.access.services import api_token_authenticate, api_token_issue, api_token_revoke
from contactpoint.access.tests.factories import TEST_PASSWORD, make_user
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import ChildFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
PASSWORD = TEST_PASSWORD


def lapse(profile):
    profile.dbs_checked_on = datetime.date.today() - datetime.timedelta(days=3 * 365 + 2)
    profile.save()


def test_vetted_users_sign_in(client):
    make_user("asha")
    response = client.post(reverse("web:login"), {"username": "asha", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("web:home")


def test_lapsed_vetting_blocks_sign_in_and_says_why(client):
    lapse(make_user("ben"))
    response = client.post(reverse("web:login"), {"username": "ben", "password": PASSWORD})
    assert response.status_code == 200
    assert "DBS check" in response.content.decode() and "has lapsed" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unvetted_accounts_cannot_sign_in(client):
    make_user("cat", vetted=False)
    response = client.post(reverse("web:login"), {"username": "cat", "password": PASSWORD})
    assert "training has not been completed" in response.content.decode()


def test_create_user_prints_a_token_as_the_last_line_and_stores_only_its_digest():
    out = io.StringIO()
    call_command(
        "create_user",
        "cms",
        "--role",
        "practitioner",
        "--organisation",
        "383",
        "--vetted",
        "--api-token",
        stdout=out,
    )
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("cpt_") and len(token) > 40
    stored = ApiToken.objects.get()
    assert token not in (stored.digest, stored.prefix) and stored.prefix == token[:12]
    assert api_token_authenticate(raw=token).username == "cms"


def test_expired_revoked_unknown_and_unvetted_tokens_are_refused():
    profile = make_user("dee")
    token = api_token_issue(user=profile.user, name="t")
    with pytest.raises(PermissionDenied, match="not valid"):
        api_token_authenticate(raw=token + "x")
    lapse(profile)
    with pytest.raises(PermissionDenied, match="has lapsed"):
        api_token_authenticate(raw=token)
    make_user("eve")
    expiring = api_token_issue(
        user=Profile.objects.get(user__username="eve").user, name="t", lifetime=datetime.timedelta(seconds=-1)
    )
    with pytest.raises(PermissionDenied, match="expired"):
        api_token_authenticate(raw=expiring)
    live = api_token_issue(user=Profile.objects.get(user__username="eve").user, name="t2")
    api_token_revoke(token=ApiToken.objects.get(prefix=live[:12]))
    with pytest.raises(PermissionDenied, match="not valid"):
        api_token_authenticate(raw=live)


def test_last_used_is_kept_to_the_minute_without_a_write_per_call():
    profile = make_user("fay")
    token = api_token_issue(user=profile.user, name="t")
    api_token_authenticate(raw=token)
    first = ApiToken.objects.get(prefix=token[:12]).last_used_at
    assert first is not None
    api_token_authenticate(raw=token)
    assert ApiToken.objects.get(prefix=token[:12]).last_used_at == first  # within the minute: no write
    ApiToken.objects.filter(prefix=token[:12]).update(last_used_at=first - datetime.timedelta(minutes=2))
    api_token_authenticate(raw=token)
    assert ApiToken.objects.get(prefix=token[:12]).last_used_at > first


def test_shield_child_by_the_authoritys_team():
    make_user("team", role="la_management")
    child = ChildFactory()
    out = io.StringIO()
    call_command("shield_child", child.contactpoint_id, "--by", "team", "--reason", "Refuge", stdout=out)
    shield = Shield.objects.get(child=child)
    assert shield.local_authority.code == "383"
    assert shield.review_due == datetime.date.today() + datetime.timedelta(days=182)
    assert child.contactpoint_id in out.getvalue()
    with pytest.raises(CommandError, match="already shielded"):
        call_command("shield_child", child.contactpoint_id, "--by", "team", "--reason", "Again")


@pytest.mark.parametrize(
    ("by", "message"),
    [("prac", "may not shield"), ("lapsed", "has lapsed"), ("nobody", "No user is called")],
)
def test_shield_child_refuses_users_who_may_not(by, message):
    make_user("prac")
    lapse(make_user("lapsed", role="la_management"))
    child = ChildFactory()
    with pytest.raises(CommandError, match=message):
        call_command("shield_child", child.contactpoint_id, "--by", by, "--reason", "Refuge")
    assert not Shield.objects.exists()


def test_shield_child_refuses_an_unknown_child():
    make_user("team2", role="la_management")
    with pytest.raises(CommandError, match="No child"):
        call_command("shield_child", "CP0000000000000", "--by", "team2", "--reason", "Refuge")


def test_create_user_puts_staff_of_an_existing_organisation_in_its_area():
    la = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="801")
    OrganisationFactory(kind=OrganisationKind.SCHOOL, code="1801001", local_authority=la)
    profile = make_user("teacher", organisation="1801001")
    assert (profile.organisation.code, profile.local_authority.code) == ("1801001", "801")
    OrganisationFactory(kind=OrganisationKind.NATIONAL_BODY, code="X26", local_authority=None)
    with pytest.raises(CommandError, match="give --local-authority"):
        make_user("nhs-staff", organisation="X26")
