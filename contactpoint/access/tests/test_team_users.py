"""The team's user management: create in its own area, record vetting, see lapsing and lapsed accounts."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError

from contactpoint.access.actors import Actor
from contactpoint.access.models import VETTING_VALID_FOR, Profile
from contactpoint.access.selectors import VettingState, users_for_team, vetting_counts, vetting_state
from contactpoint.access.services import team_user_create, user_suspend, vetting_record
from contactpoint.access.tests.factories import make_user
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def teams():
    leeds_team = Actor.for_user(make_user("team-383", "la_management", organisation="383").user)
    manchester_team = Actor.for_user(make_user("team-352", "la_management", organisation="352").user)
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    OrganisationFactory(kind=OrganisationKind.SCHOOL, code="1383001", local_authority=leeds, accredited=True)
    OrganisationFactory(kind=OrganisationKind.SCHOOL, code="1383002", local_authority=leeds, accredited=False)
    return leeds_team, manchester_team


def test_a_team_creates_an_account_in_its_own_area_audited_as_itself(teams):
    leeds_team, _ = teams
    user, password = team_user_create(
        actor=leeds_team, username="asha.p", role_code="practitioner", organisation_code="1383001"
    )
    profile = Profile.objects.get(user=user)
    assert (profile.organisation.code, profile.local_authority.code, profile.role.code) == (
        "1383001",
        "383",
        "practitioner",
    )
    assert user.check_password(password) and len(password) >= 20
    assert profile.vetting_problems(TODAY)  # unusable until vetting is recorded
    event = AuditEvent.objects.get(event_type=EventType.ROLE_OR_VETTING, details__user="asha.p")
    assert event.actor_username == "team-383" and event.details["user"] == "asha.p"


@pytest.mark.parametrize(
    ("username", "role", "organisation", "problem"),
    [
        ("asha", "data_manager", "383", "cannot give the 'data_manager' role"),
        ("asha", "auditor", "383", "cannot give"),
        ("asha", "practitioner", "352", "No accredited organisation in"),  # another area
        ("asha", "practitioner", "1383002", "No accredited organisation in"),  # not accredited
        ("asha", "practitioner", "NEW1", "No accredited organisation in"),  # would accredit a new one
        ("team-352", "practitioner", "383", "already exists"),
        ("has space", "practitioner", "383", "valid username"),
        ("  ", "practitioner", "383", "Enter a username"),
    ],
)
def test_creating_refuses_what_the_team_may_not_do_and_creates_nothing(
    teams, username, role, organisation, problem
):
    leeds_team, _ = teams
    before = (get_user_model().objects.count(), Organisation.objects.count(), AuditEvent.objects.count())
    with pytest.raises(ValidationError, match=problem):
        team_user_create(actor=leeds_team, username=username, role_code=role, organisation_code=organisation)
    assert (
        get_user_model().objects.count(),
        Organisation.objects.count(),
        AuditEvent.objects.count(),
    ) == before


def test_only_teams_create_accounts(teams):
    practitioner = Actor.for_user(make_user("p-383").user)
    with pytest.raises(PermissionDenied):
        team_user_create(actor=practitioner, username="x", role_code="practitioner", organisation_code="383")


def test_vetting_is_recorded_with_its_dates_and_only_changes_are_audited(teams):
    leeds_team, _ = teams
    profile = make_user("new-383", vetted=False)
    dates = {
        "dbs_checked_on": TODAY - datetime.timedelta(days=30),
        "training_completed_on": TODAY - datetime.timedelta(days=10),
        "agreement_signed_on": TODAY,
    }
    vetting_record(user_id=profile.user_id, actor=leeds_team, today=TODAY, **dates)
    profile.refresh_from_db()
    assert profile.vetting_problems(TODAY) == []
    assert profile.vetting_lapses_on == dates["dbs_checked_on"] + VETTING_VALID_FOR
    (event,) = AuditEvent.objects.filter(details__action="vetting_recorded")
    assert event.actor_username == "team-383" and event.details["user_id"] == profile.user_id
    assert event.details["changed"]["dbs_checked_on"] == {
        "from": None,
        "to": dates["dbs_checked_on"].isoformat(),
    }

    vetting_record(user_id=profile.user_id, actor=leeds_team, today=TODAY, **dates)  # nothing new
    assert AuditEvent.objects.filter(details__action="vetting_recorded").count() == 1


@pytest.mark.parametrize(
    ("shift", "problem"),
    [
        ({"agreement_signed_on": datetime.timedelta(days=1)}, "today or in the past"),
        ({"dbs_checked_on": -VETTING_VALID_FOR - datetime.timedelta(days=1)}, "has lapsed"),
    ],
)
def test_vetting_refuses_future_dates_and_a_lapsed_check_and_keeps_what_was_there(teams, shift, problem):
    leeds_team, _ = teams
    profile = make_user("new-383", vetted=False)
    dates = {
        name: TODAY + shift.get(name, datetime.timedelta(0))
        for name in ("dbs_checked_on", "training_completed_on", "agreement_signed_on")
    }
    with pytest.raises(ValidationError, match=problem):
        vetting_record(user_id=profile.user_id, actor=leeds_team, today=TODAY, **dates)
    profile.refresh_from_db()
    assert profile.dbs_checked_on is None and profile.agreement_signed_on is None


def test_a_team_records_vetting_only_for_its_own_area(teams):
    _, manchester_team = teams
    profile = make_user("new-383", vetted=False)
    with pytest.raises(PermissionDenied):
        vetting_record(
            user_id=profile.user_id,
            actor=manchester_team,
            dbs_checked_on=TODAY,
            training_completed_on=TODAY,
            agreement_signed_on=TODAY,
            today=TODAY,
        )


def _vetted_on(name: str, dbs: datetime.date) -> Profile:
    profile = make_user(name)
    Profile.objects.filter(pk=profile.pk).update(dbs_checked_on=dbs)
    profile.refresh_from_db()
    return profile


def test_the_list_sorts_accounts_by_vetting_state_in_the_database_as_on_each_row(teams):
    leeds_team, manchester_team = teams
    lapse_day = TODAY - VETTING_VALID_FOR  # a check on this day lapses after today
    expected = {
        "fresh": (_vetted_on("fresh", TODAY), VettingState.CURRENT),
        "lapsing": (_vetted_on("lapsing", lapse_day + datetime.timedelta(days=30)), VettingState.LAPSING),
        "last-day": (_vetted_on("last-day", lapse_day), VettingState.LAPSING),
        "lapsed": (_vetted_on("lapsed", lapse_day - datetime.timedelta(days=1)), VettingState.LAPSED),
        "unvetted": (make_user("unvetted", vetted=False), VettingState.LAPSED),
    }
    suspended = make_user("suspended")
    user_suspend(user_id=suspended.user_id, actor=leeds_team, reason="investigation")
    expected["suspended"] = (suspended, VettingState.SUSPENDED)
    make_user("elsewhere", organisation="352", vetted=False)  # Manchester's, not Leeds's

    for name, (profile, state) in expected.items():
        profile.refresh_from_db()
        assert vetting_state(profile, today=TODAY) == state, name
    for state in VettingState.LABELS:
        listed = {p.user.username for p in users_for_team(actor=leeds_team, state=state, today=TODAY)}
        wanted = {name for name, (_, s) in expected.items() if s == state}
        if state == VettingState.CURRENT:
            wanted.add("team-383")
        assert listed == wanted, state
    counts = vetting_counts(actor=leeds_team, today=TODAY)
    assert counts == {"current": 2, "lapsing": 2, "lapsed": 2, "suspended": 1}
    assert "elsewhere" not in {p.user.username for p in users_for_team(actor=leeds_team)}
    assert "elsewhere" in {p.user.username for p in users_for_team(actor=manchester_team)}
