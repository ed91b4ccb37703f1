"""The practitioner's pages without a browser: reason for access, the record, shields, break-glass."""

import pytest
from django.urls import reverse

from contactpoint.access.models import BreakGlassAlert
from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType, Outcome
from contactpoint.audit.services import audit_record
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
REASON = {"reason": "safeguarding", "details": ""}


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def _signed_in(client, user):
    sign_in_verified(client, user)
    return client


def _views_of(child) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            event_type__in=[EventType.VIEW, EventType.BREAK_GLASS], child_ids=[child.contactpoint_id]
        ).order_by("id")
    )


def test_a_record_opens_only_after_a_reason_which_is_audited(client, world):
    _signed_in(client, world.practitioner)
    url = reverse("web:child", args=[world.child.contactpoint_id])
    asked = client.get(url).content.decode()
    assert "Why do you need to see this child" in asked and "Hyde Park" not in asked
    assert _views_of(world.child) == []

    page = client.post(url, REASON)
    html = page.content.decode()
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    for shown in (
        "Amelia Khan",
        "Who else is working with this child",
        "Sam Okafor",
        "Lead professional",
        "CAF",
    ):
        assert shown in html
    for shown in ("Hyde Park Primary School", "Burley Park Surgery", "Sara Khan", "07700 900001", "LS6 2AB"):
        assert shown in html
    [event] = _views_of(world.child)
    assert event.reason == "A safeguarding concern about this child"
    assert event.actor_username == "practitioner-383"


def test_a_missing_reason_is_an_error_that_opens_nothing(client, world):
    _signed_in(client, world.practitioner)
    url = reverse("web:child", args=[world.child.contactpoint_id])
    no_choice = client.post(url, {}).content.decode()
    assert "There is a problem" in no_choice
    assert 'href="#id_reason"' in no_choice and "Select why you need to see" in no_choice
    other_without_details = client.post(url, {"reason": "other", "details": "  "}).content.decode()
    assert "Enter your reason for seeing this child" in other_without_details
    assert 'value="other" checked' in other_without_details  # the answer given is kept
    assert "Hyde Park" not in no_choice + other_without_details
    assert _views_of(world.child) == []

    client.post(url, {"reason": "other", "details": "Strategy meeting  tomorrow"})
    assert _views_of(world.child)[0].reason == "Another reason: Strategy meeting tomorrow"


def test_an_unknown_contactpoint_id_is_not_found(client, world):
    _signed_in(client, world.practitioner)
    assert client.get(reverse("web:child", args=["NOSUCHCHILD"])).status_code == 404


def test_a_shielded_child_shows_visible_fields_and_the_route_to_the_team(client, world):
    _signed_in(client, world.practitioner)
    html = client.post(reverse("web:child", args=[world.shielded.contactpoint_id]), REASON).content.decode()
    assert "Lily Morgan" in html and "Shielded record" in html
    assert "Sara Morgan" in html  # carers' names are visible
    for hidden in ("LS7 3AA", "Hyde Park Road", "07700 900001", "Who else is working"):
        assert hidden not in html
    assert "Contact the ContactPoint team" in html and "0113 222 4403" in html
    assert "Override the shield" not in html  # practitioners cannot break glass
    forbidden = client.get(reverse("web:break_glass", args=[world.shielded.contactpoint_id]))
    assert forbidden.status_code == 403


def test_break_glass_needs_confirmation_raises_an_alert_and_lasts_one_page(client, world):
    _signed_in(client, world.other_team)
    shielded_id = world.shielded.contactpoint_id
    restricted = client.post(reverse("web:child", args=[shielded_id]), REASON).content.decode()
    assert "LS7 3AA" not in restricted
    assert reverse("web:break_glass", args=[shielded_id]) in restricted

    override = reverse("web:break_glass", args=[shielded_id])
    warning = client.get(override).content.decode()
    assert "raises an alert" in warning
    unconfirmed = client.post(override, REASON).content.decode()
    assert "Confirm that you understand" in unconfirmed and "LS7 3AA" not in unconfirmed
    assert not BreakGlassAlert.objects.exists()

    revealed = client.post(override, {**REASON, "confirm": "on"}).content.decode()
    assert "Shield overridden" in revealed and "LS7 3AA" in revealed
    assert BreakGlassAlert.objects.filter(child=world.shielded, user=world.other_team).count() == 1
    assert [e.event_type for e in _views_of(world.shielded)] == [EventType.VIEW, EventType.BREAK_GLASS]

    # Leaving the record ends the override: opening it again shows the shielded view.
    again = client.post(reverse("web:child", args=[shielded_id]), REASON).content.decode()
    assert "LS7 3AA" not in again and "Shielded record" in again


def test_the_shielding_authoritys_team_sees_through_its_own_shield(client, world):
    _signed_in(client, world.team)
    html = client.post(reverse("web:child", args=[world.shielded.contactpoint_id]), REASON).content.decode()
    assert "LS7 3AA" in html and "Your team can see the whole record" in html


def test_my_recent_activity_lists_my_own_events_newest_first(client, world):
    _signed_in(client, world.practitioner)
    client.post(reverse("web:child", args=[world.child.contactpoint_id]), REASON)
    client.post(reverse("web:child", args=[world.shielded.contactpoint_id]), {"reason": "contact"})
    html = client.get(reverse("web:activity")).content.decode()
    newest, older = html.index(world.shielded.contactpoint_id), html.index(world.child.contactpoint_id)
    assert newest < older
    assert "Contacting another practitioner" in html
    assert "Lily" not in html and "Amelia" not in html  # ids and reasons only
    assert "Shield change" not in html  # the team's act, not mine
    sign_ins = html.count("Sign-in")
    audit_record(event_type=EventType.SIGN_IN, username="practitioner-383", details={"step": "second_factor"})
    audit_record(event_type=EventType.SIGN_IN, username="team-383", details={"step": "second_factor"})
    html = client.get(reverse("web:activity")).content.decode()
    assert html.count("Sign-in") == sign_ins + 1  # my sign-in steps, not someone else's


def test_a_refused_view_is_audited_and_answered_with_403(client, world):
    from contactpoint.access.tests.factories import make_user

    auditor = make_user("auditor-383", "auditor").user
    _signed_in(client, auditor)
    response = client.post(reverse("web:child", args=[world.child.contactpoint_id]), REASON)
    assert response.status_code == 403
    [event] = _views_of(world.child)
    assert event.outcome == Outcome.DENIED


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({}, "Enter the child&#39;s family name and date of birth, or an identifier"),
        (
            {"family_name": "Khan", "dob_day": "31", "dob_month": "2", "dob_year": "2015"},
            "must be a real date",
        ),
        ({"family_name": "Khan", "dob_day": "3", "dob_year": "2015"}, "must include a month"),
        (
            {"family_name": "Khan", "dob_day": "3", "dob_month": "3", "dob_year": "2999"},
            "today or in the past",
        ),
    ],
)
def test_the_search_form_says_what_to_fix_and_keeps_the_answers(client, world, answers, message):
    _signed_in(client, world.practitioner)
    html = client.post(reverse("web:search"), answers).content.decode()
    assert "There is a problem" in html and message in html
    if answers.get("family_name"):
        assert 'value="Khan"' in html
        assert 'href="#id_dob_day"' in html


def test_refusals_and_unknown_ids_get_govuk_pages_that_say_why(client, world):
    from contactpoint.access.tests.factories import make_user

    _signed_in(client, make_user("auditor-2", "auditor").user)
    refused = client.post(reverse("web:child", args=[world.child.contactpoint_id]), REASON)
    assert refused.status_code == 403
    assert "You cannot see this page" in refused.content.decode()
    assert "cannot see children" in refused.content.decode()
    missing = client.get(reverse("web:child", args=["CPNOSUCHCHILD00"]))
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()


def test_search_finds_the_child_links_to_the_reason_step_and_is_audited(client, world):
    _signed_in(client, world.practitioner)
    data = {"family_name": "Khan", "dob_day": "14", "dob_month": "3", "dob_year": "2015"}
    html = client.post(reverse("web:search"), data).content.decode()
    assert "Amelia" in html and "14 March 2015" in html and "LS6" in html
    assert reverse("web:child", args=[world.child.contactpoint_id]) in html
    assert "Hyde Park Road" not in html and "LS6 2AB" not in html  # minimum disclosure
    search = AuditEvent.objects.get(event_type=EventType.SEARCH)
    assert search.details["returned_ids"] == [world.child.contactpoint_id]
    assert not _views_of(world.child)  # finding a child does not open the record


def test_a_shielded_child_is_listed_without_its_area(client, world):
    _signed_in(client, world.practitioner)
    data = {
        "given_name": "Lily",
        "family_name": "Morgan",
        "dob_day": "2",
        "dob_month": "7",
        "dob_year": "2016",
    }
    html = client.post(reverse("web:search"), data).content.decode()
    assert "Lily" in html and "Shielded" in html and "LS7" not in html
