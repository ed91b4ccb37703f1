"""The team's user pages: list by vetting, create, record vetting, suspend and reinstate; area-scoped."""

import datetime
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from contactpoint.access.models import Profile
from contactpoint.access.tests.factories import make_user, sign_in_verified
from contactpoint.access.tests.test_reauth import age_second_factor
from contactpoint.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def team(client):
    team = make_user("team-383", "la_management", organisation="383")
    make_user("team-352", "la_management", organisation="352")
    sign_in_verified(client, team.user)
    return team


def _dates(day: datetime.date, *prefixes: str) -> dict[str, str]:
    return {
        f"{prefix}_{part}": str(getattr(day, part))
        for prefix in prefixes
        for part in ("day", "month", "year")
    }


def test_the_list_shows_the_areas_accounts_and_filters_lapsed_ones(client, team):
    make_user("unvetted-383", vetted=False)
    make_user("practitioner-352", organisation="352", vetted=False)
    page = client.get(reverse("web:users")).content.decode()
    assert "unvetted-383" in page and "team-383" in page and "352" not in re.sub(r"\(\d+\)", "", page)
    lapsed = client.get(reverse("web:users"), {"vetting": "lapsed"}).content.decode()
    assert "unvetted-383" in lapsed and "Vetting lapsed or incomplete" in lapsed
    assert 'Manage<span class="govuk-visually-hidden"> team-383' not in lapsed
    assert 'href="/users/"' in client.get(reverse("web:home")).content.decode()  # in the navigation


def test_create_then_record_vetting_and_the_account_works(client, team):
    answer = client.post(
        reverse("web:user_new"),
        {
            "username": "sam.okafor",
            "family_name": "Okafor",
            "email": "sam@leeds.example",
            "role": "practitioner",
            "organisation_code": "383",
        },
    )
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "User created" in page and answer["Cache-Control"].startswith("max-age=0")
    password = re.search(r'<code class="cp-password">([^<]+)</code>', page).group(1)
    created = get_user_model().objects.get(username="sam.okafor")
    assert created.check_password(password)

    vetting = reverse("web:user_vetting", args=[created.pk])
    saved = client.post(vetting, _dates(TODAY, "dbs", "training", "agreement"))
    assert saved.status_code == 302 and saved["Location"] == reverse("web:user", args=[created.pk])
    detail = client.get(saved["Location"]).content.decode()
    assert "Vetting recorded for sam.okafor" in detail and "Vetting current" in detail
    assert Profile.objects.get(user=created).vetting_problems(TODAY) == []
    actions = list(
        AuditEvent.objects.filter(actor_username="team-383").values_list("details__action", flat=True)
    )
    assert {"user_created", "vetting_recorded"} <= set(actions)


def test_bad_answers_show_the_error_summary_and_change_nothing(client, team):
    users_before = get_user_model().objects.count()
    page = client.post(reverse("web:user_new"), {"username": "", "role": "", "organisation_code": "352"})
    html = page.content.decode()
    assert page.status_code == 200 and "There is a problem" in html
    assert "Enter a username" in html and "Select what they will do" in html
    refused = client.post(
        reverse("web:user_new"), {"username": "x.y", "role": "practitioner", "organisation_code": "352"}
    ).content.decode()
    assert "No accredited organisation in" in refused and 'href="#id_organisation_code"' in refused
    assert get_user_model().objects.count() == users_before

    profile = make_user("new-383", vetted=False)
    vetting = reverse("web:user_vetting", args=[profile.user_id])
    future = client.post(vetting, _dates(TODAY + datetime.timedelta(days=2), "dbs", "training", "agreement"))
    assert "must be today or in the past" in future.content.decode()
    old = TODAY - datetime.timedelta(days=4 * 365)
    lapsed = client.post(vetting, {**_dates(old, "dbs"), **_dates(TODAY, "training", "agreement")})
    assert "has lapsed" in lapsed.content.decode()
    missing = client.post(vetting, _dates(TODAY, "dbs", "training")).content.decode()
    assert "Enter the date the user agreement was signed" in missing
    profile.refresh_from_db()
    assert profile.dbs_checked_on is None


def test_suspend_and_reinstate_with_reasons_audited(client, team):
    profile = make_user("p-383")
    status = reverse("web:user_status", args=[profile.user_id])
    assert "Enter the reason" in client.post(status, {"reason": "  "}).content.decode()
    assert client.post(status, {"reason": "Left the school"}).status_code == 302
    profile.refresh_from_db()
    assert profile.suspended_at is not None and profile.suspension_reason == "Left the school"
    assert not get_user_model().objects.get(pk=profile.user_id).is_active
    assert "Reinstate p-383" in client.get(status).content.decode()
    assert client.post(status, {"reason": "Returned"}).status_code == 302
    profile.refresh_from_db()
    assert profile.suspended_at is None
    actions = set(
        AuditEvent.objects.filter(actor_username="team-383").values_list("details__action", flat=True)
    )
    assert {"user_suspended", "user_reinstated"} <= actions


def test_a_team_cannot_suspend_itself(client, team):
    assert client.get(reverse("web:user_status", args=[team.user_id])).status_code == 403


def test_another_areas_accounts_are_not_found_and_others_are_refused(client, team):
    other = Profile.objects.get(user__username="team-352")
    for name in ("web:user", "web:user_vetting", "web:user_status"):
        assert client.get(reverse(name, args=[other.user_id])).status_code == 404
    assert client.post(reverse("web:user_status", args=[other.user_id]), {"reason": "x"}).status_code == 404
    other.refresh_from_db()
    assert other.suspended_at is None

    client.logout()
    sign_in_verified(client, make_user("p-383").user)
    for path in (reverse("web:users"), reverse("web:user_new"), reverse("web:user", args=[team.user_id])):
        assert client.get(path).status_code == 403


def test_sensitive_acts_ask_to_confirm_its_you_first(client, team, settings):
    settings.CONTACTPOINT_REAUTH_SECONDS = 300
    age_second_factor(client, 301)
    profile = make_user("p-383")
    for path, data in (
        (reverse("web:user_new"), {"username": "z", "role": "practitioner", "organisation_code": "383"}),
        (reverse("web:user_vetting", args=[profile.user_id]), _dates(TODAY, "dbs", "training", "agreement")),
        (reverse("web:user_status", args=[profile.user_id]), {"reason": "x"}),
    ):
        answer = client.post(path, data)
        assert answer.status_code == 302 and answer["Location"].startswith(reverse("account:confirm")), path
    assert not get_user_model().objects.filter(username="z").exists()
    profile.refresh_from_db()
    assert profile.suspended_at is None
    assert client.get(reverse("web:user_new")).status_code == 200  # reading the form needs no confirmation
