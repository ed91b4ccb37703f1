"""Each misuse rule fires on its pattern and not on normal use; the team's response works."""

import datetime
import io
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from contactpoint.access.actors import Actor
from contactpoint.access.models import Profile
from contactpoint.access.services import api_token_authenticate, api_token_issue
from contactpoint.access.tests.factories import actor_for, sign_in_verified
from contactpoint.audit.misuse import (
    misuse_alert_close,
    misuse_alert_notify_manager,
    misuse_alert_reinstate_user,
    misuse_alert_suspend_user,
    misuse_detect,
)
from contactpoint.audit.misuse_rules import RULES_BY_CODE
from contactpoint.audit.models import AlertAction, AlertStatus, AuditEvent, EventType, MisuseAlert
from contactpoint.audit.services import audit_record
from contactpoint.records.models import Carer, CarerRelationship, OrganisationKind
from contactpoint.records.tests.factories import (
    ChildAddressFactory,
    ChildFactory,
    ChildNameFactory,
    InvolvementFactory,
    OrganisationFactory,
    SourceFactory,
)

pytestmark = pytest.mark.django_db
UK = ZoneInfo("Europe/London")
# A Tuesday, mid-morning: working hours.
WORKDAY = datetime.datetime(2026, 11, 17, 10, 0, tzinfo=UK)


@pytest.fixture
def world():
    leeds = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    manchester = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352")
    team = actor_for("la_management", leeds, username="leeds-team")
    get_user_model().objects.filter(username="leeds-team").update(email="team@leeds.example")
    return {"leeds": leeds, "manchester": manchester, "team": team}


def worker(world, name, *, family_name="", home_postcode="", role="practitioner"):
    actor = actor_for(role, world["leeds"], username=name)
    get_user_model().objects.filter(pk=actor.user_id).update(last_name=family_name)
    Profile.objects.filter(user_id=actor.user_id).update(home_postcode=home_postcode)
    return actor


def at(moment):
    return mock.patch("contactpoint.audit.services.timezone.now", return_value=moment)


def search(actor, moment=WORKDAY, *, criteria=None, returned=()):
    with at(moment):
        audit_record(
            event_type=EventType.SEARCH,
            actor=actor,
            details={"criteria": criteria or {"family_name": "Smith"}, "returned_ids": list(returned)},
        )


def view(actor, child, moment=WORKDAY):
    with at(moment):
        audit_record(
            event_type=EventType.VIEW, actor=actor, child_ids=[child.contactpoint_id], reason="Referral"
        )


def child_named(family_name, *, postcode="LS6 2AB", area=None, carer_postcode=""):
    child = ChildFactory()
    ChildNameFactory(child=child, family_name=family_name, is_chosen=True)
    ChildAddressFactory(child=child, postcode=postcode, local_authority=area, is_chosen=True)
    if carer_postcode:
        Carer.objects.create(
            child=child,
            source=SourceFactory(),
            source_record_id="C1",
            asserted_at=timezone.now(),
            family_name=family_name,
            relationship=CarerRelationship.MOTHER,
            postcode=carer_postcode,
        )
    return child


def detect(rule, moment=WORKDAY + datetime.timedelta(hours=1)):
    return [(a.rule, a.username) for a in misuse_detect(now=moment, rules=[RULES_BY_CODE[rule]])]


# Own surname or address


def test_searching_for_ones_own_surname_raises_an_alert(world):
    lee = worker(world, "lee", family_name="Quixote")
    search(lee, criteria={"family_name": "QUIXOTE", "given_name": "Anna"})
    search(lee, criteria={"given_name": "Ben"}, returned=[child_named("Quixote").contactpoint_id])
    assert detect("own_surname_or_address") == [("own_surname_or_address", "lee")]


def test_a_fhir_search_for_ones_own_postcode_raises_an_alert(world):
    lee = worker(world, "lee", home_postcode="LS1 4AP")
    search(lee, criteria={"address-postalcode": "ls1 4ap", "birthdate": "2015-03-14"})
    assert detect("own_surname_or_address") == [("own_surname_or_address", "lee")]


def test_a_child_at_the_users_own_address_raises_an_alert(world):
    lee = worker(world, "lee", family_name="Quixote", home_postcode="LS1 4AP")
    view(lee, child_named("Smith", postcode="M1 1AA", carer_postcode="ls14ap"))
    assert detect("own_surname_or_address") == [("own_surname_or_address", "lee")]


def test_ordinary_searches_and_a_single_shared_surname_raise_nothing(world):
    lee = worker(world, "lee", family_name="Smith", home_postcode="LS1 4AP")
    worker(world, "nobody")  # no surname or address recorded: never matches anything
    for _ in range(3):
        child = child_named("Jones")
        search(lee, criteria={"family_name": "Jones"}, returned=[child.contactpoint_id])
        view(lee, child)
    search(lee, criteria={"family_name": "Smith"})  # one Smith: a common name, below the threshold
    assert detect("own_surname_or_address") == []


# Volume far above peers


def busy(actor, count):
    for _ in range(count):
        search(actor)


def test_volume_far_above_peers_raises_an_alert(world):
    for n in range(4):
        busy(worker(world, f"peer{n}"), 10)
    busy(worker(world, "greedy"), 60)
    assert detect("volume_above_peers") == [("volume_above_peers", "greedy")]


def test_busy_but_comparable_users_and_small_teams_raise_nothing(world):
    for n in range(4):
        busy(worker(world, f"peer{n}"), 40)
    busy(worker(world, "keen"), 70)  # busier, not five times the median
    assert detect("volume_above_peers") == []
    busy(worker(world, "team-lead", role="la_management"), 300)  # no peers in the role to compare
    assert detect("volume_above_peers") == []


# Children far outside the area with no involvement


def test_viewing_children_far_outside_the_area_raises_an_alert(world):
    lee = worker(world, "lee")
    for _ in range(3):
        view(lee, child_named("Jones", area=world["manchester"]))
    assert detect("far_outside_area") == [("far_outside_area", "lee")]


def test_own_area_involved_and_neighbouring_children_raise_nothing(world):
    lee = worker(world, "lee")
    for _ in range(3):
        view(lee, child_named("Jones", area=world["leeds"]))
        involved = child_named("Jones", area=world["manchester"])
        InvolvementFactory(child=involved, organisation=world["leeds"])
        view(lee, involved)
    assert detect("far_outside_area") == []
    for _ in range(3):
        view(lee, child_named("Jones", area=world["manchester"]))
    neighbourly = RULES_BY_CODE["far_outside_area"]
    neighbourly = type(neighbourly)(
        **{**neighbourly.__dict__, "thresholds": {"min_children": 3, "neighbours": {"383": ["352"]}}}
    )
    assert misuse_detect(now=WORKDAY + datetime.timedelta(hours=1), rules=[neighbourly]) == []


# Out-of-hours bursts


def test_an_out_of_hours_burst_raises_an_alert(world):
    lee = worker(world, "lee")
    night = datetime.datetime(2026, 11, 17, 23, 0, tzinfo=UK)
    for minute in range(0, 30, 3):
        search(lee, night + datetime.timedelta(minutes=minute))
    assert detect("out_of_hours_burst", night + datetime.timedelta(hours=1)) == [
        ("out_of_hours_burst", "lee")
    ]


def test_daytime_work_and_occasional_night_calls_raise_nothing(world):
    lee = worker(world, "lee")
    for minute in range(0, 30, 3):
        search(lee, WORKDAY + datetime.timedelta(minutes=minute))
    evening = datetime.datetime(2026, 11, 17, 20, 30, tzinfo=UK)
    for half_hours in range(10):  # an on-call worker's night: spread out, never a burst
        search(lee, evening + datetime.timedelta(minutes=30 * half_hours))
    assert detect("out_of_hours_burst", evening + datetime.timedelta(hours=6)) == []


# Repeated searches without a view


def test_repeated_searches_without_a_view_raise_an_alert(world):
    lee = worker(world, "lee")
    busy(lee, 30)
    assert detect("searches_without_view") == [("searches_without_view", "lee")]


def test_searches_that_lead_to_views_raise_nothing(world):
    lee = worker(world, "lee")
    busy(lee, 30)
    for _ in range(5):
        view(lee, ChildFactory())
    assert detect("searches_without_view") == []


# Raising and responding


@pytest.fixture
def alert(world):
    lee = worker(world, "lee")
    busy(lee, 30)
    (raised,) = misuse_detect(now=WORKDAY + datetime.timedelta(hours=1))
    return raised


def test_an_alert_goes_to_the_users_authority_team_once(world, alert):
    assert (alert.local_authority, alert.rule, alert.status) == (
        world["leeds"],
        "searches_without_view",
        AlertStatus.OPEN,
    )
    assert misuse_detect(now=WORKDAY + datetime.timedelta(hours=2)) == []  # the same window: no repeat
    raised = AuditEvent.objects.get(details__action="misuse_alert_raised")
    assert raised.details["alert"] == alert.pk


def test_the_team_is_e_mailed_when_an_alert_is_raised(world, django_capture_on_commit_callbacks):
    busy(worker(world, "lee"), 30)
    with django_capture_on_commit_callbacks(execute=True):
        misuse_detect(now=WORKDAY + datetime.timedelta(hours=1))
    (message,) = mail.outbox
    assert message.to == ["team@leeds.example"] and "lee" in message.body


def test_suspension_stops_sign_in_sessions_and_tokens(world, alert, client):
    lee = get_user_model().objects.get(username="lee")
    token = api_token_issue(user=lee, name="case system")
    sign_in_verified(client, lee)
    misuse_alert_suspend_user(alert=alert, actor=world["team"], reason="Investigating")
    lee.refresh_from_db()
    with pytest.raises(PermissionDenied, match="suspended"):
        Actor.for_user(lee)
    with pytest.raises(PermissionDenied, match="suspended"):
        api_token_authenticate(raw=token)
    assert client.get(reverse("web:home")).status_code == 302  # the session no longer counts
    client.logout()
    response = client.post(reverse("web:login"), {"username": "lee", "password": "a-long-password-for-tests"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert alert.actions.get().action == AlertAction.SUSPENDED
    assert AuditEvent.objects.filter(details__action="user_suspended", details__user_id=lee.pk).exists()


def test_a_suspension_can_be_lifted_with_a_reason(world, alert):
    misuse_alert_suspend_user(alert=alert, actor=world["team"], reason="Investigating")
    with pytest.raises(ValidationError, match="reason for reinstating"):
        misuse_alert_reinstate_user(alert=alert, actor=world["team"], reason="")
    misuse_alert_reinstate_user(alert=alert, actor=world["team"], reason="Concern unfounded")
    lee = get_user_model().objects.get(username="lee")
    assert Actor.for_user(lee).username == "lee"
    assert [a.action for a in alert.actions.order_by("at", "pk")] == [
        AlertAction.SUSPENDED,
        AlertAction.REINSTATED,
    ]


def test_notifying_the_manager_sends_mail_and_records_it(world, alert):
    with pytest.raises(ValidationError, match="manager's e-mail"):
        misuse_alert_notify_manager(alert=alert, actor=world["team"], manager_email="not an address")
    assert mail.outbox == [] and not alert.actions.exists()
    misuse_alert_notify_manager(alert=alert, actor=world["team"], manager_email="boss@leeds.example")
    (message,) = mail.outbox
    assert message.to == ["boss@leeds.example"] and "lee" in message.body
    assert alert.actions.get().recipient == "boss@leeds.example"


def test_the_outcome_closes_the_alert_and_nothing_more_can_be_done(world, alert):
    with pytest.raises(ValidationError, match="Record what the investigation found"):
        misuse_alert_close(alert=alert, actor=world["team"], outcome="  ")
    misuse_alert_close(alert=alert, actor=world["team"], outcome="Training exercise; user reminded.")
    alert.refresh_from_db()
    assert (alert.status, alert.outcome) == (AlertStatus.CLOSED, "Training exercise; user reminded.")
    with pytest.raises(ValidationError, match="closed"):
        misuse_alert_suspend_user(alert=alert, actor=world["team"], reason="late")


def test_another_authoritys_team_cannot_act(world, alert):
    other_team = actor_for("la_management", world["manchester"], username="manchester-team")
    with pytest.raises(PermissionDenied):
        misuse_alert_suspend_user(alert=alert, actor=other_team, reason="x")
    assert get_user_model().objects.get(username="lee").is_active


def test_the_command_reports_new_alerts(world):
    lee = worker(world, "lee")
    for _ in range(30):
        search(lee, timezone.now())
    out = io.StringIO()
    call_command("detect_misuse", "--rule", "searches_without_view", stdout=out)
    assert "1 rules evaluated; 1 new alerts." in out.getvalue() and "lee" in out.getvalue()
    assert MisuseAlert.objects.count() == 1


def test_the_alert_pages_let_the_team_respond(world, alert, client):
    sign_in_verified(client, get_user_model().objects.get(username="leeds-team"))
    listing = client.get(reverse("audit:alerts"))
    assert listing.status_code == 200 and f'href="/audit/alerts/{alert.pk}/"' in listing.content.decode()
    page = reverse("audit:alert", args=[alert.pk])
    refused = client.post(page, {"action": "close", "outcome": ""})
    assert refused.status_code == 400 and "Record what the investigation found" in refused.content.decode()
    assert client.post(page, {"action": "suspend", "reason": "Looking into it"}).status_code == 302
    assert not get_user_model().objects.get(username="lee").is_active
    assert client.post(page, {"action": "close", "outcome": "Dismissed"}).status_code == 302
    assert MisuseAlert.objects.get().status == AlertStatus.CLOSED


def test_alert_pages_are_hidden_from_other_areas_and_roles(world, alert, client):
    actor_for("la_management", world["manchester"], username="manchester-team")
    sign_in_verified(client, get_user_model().objects.get(username="manchester-team"))
    assert client.get(reverse("audit:alert", args=[alert.pk])).status_code == 404
    assert alert.pk not in [a.pk for a in client.get(reverse("audit:alerts")).context["alerts"]]
    client.logout()
    sign_in_verified(client, get_user_model().objects.get(username="lee"))  # a practitioner, not the team
    assert client.get(reverse("audit:alerts")).status_code == 403
