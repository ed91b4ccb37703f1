"""Changes in the Django admin need a recent second factor; reading it does not."""

import pytest
from django.urls import reverse

from contactpoint.access.tests.test_reauth import age_second_factor
from contactpoint.records.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db


def _rename(client, organisation: Organisation, name: str, **extra):
    return client.post(
        reverse("admin:records_organisation_change", args=[organisation.pk]),
        {"kind": organisation.kind, "code": organisation.code, "name": name, "accredited": "on"},
        **extra,
    )


def test_a_stale_session_confirms_before_an_admin_change_and_nothing_changes_until_then(
    admin_client, settings
):
    settings.CONTACTPOINT_REAUTH_SECONDS = 300
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    age_second_factor(admin_client, 301)
    assert admin_client.get(reverse("admin:records_organisation_changelist")).status_code == 200
    asked = _rename(admin_client, leeds, "Renamed")
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("account:confirm"))
    leeds.refresh_from_db()
    assert leeds.name != "Renamed"


def test_a_fresh_second_factor_lets_the_change_through(admin_client, settings):
    settings.CONTACTPOINT_REAUTH_SECONDS = 300
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    done = _rename(admin_client, leeds, "Leeds City Council")
    assert done.status_code == 302 and done["Location"] == reverse("admin:records_organisation_changelist")
    leeds.refresh_from_db()
    assert leeds.name == "Leeds City Council"


def test_the_admin_sign_in_itself_is_not_held_back(client, settings):
    settings.CONTACTPOINT_REAUTH_SECONDS = 0
    answer = client.post(reverse("admin:login"), {"username": "nobody", "password": "wrong"})
    assert answer.status_code == 200  # the sign-in form again, not a confirmation
