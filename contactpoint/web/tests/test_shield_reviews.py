"""Shield reviews: the command lists and notifies once; the shielding team renews or ends, audited."""

import datetime
import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse

from contactpoint.access.actors import Actor
from contactpoint.access.models import Shield
from contactpoint.access.services import shield_end, shield_renew
from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
TODAY = datetime.date.today()


@pytest.fixture
def world(tmp_path):
    built = build_world(tmp_path)
    get_user_model().objects.filter(pk=built.team.pk).update(email="team@leeds.example")
    get_user_model().objects.filter(pk=built.other_team.pk).update(email="team@manchester.example")
    return built


def run_reviews(*args) -> str:
    out = io.StringIO()
    call_command("shield_reviews", *args, stdout=out)
    return out.getvalue()


def shield(world) -> Shield:
    return Shield.objects.get(child=world.shielded, ended_at__isnull=True)


def test_the_command_lists_due_shields_and_tells_the_team_once_per_review_date(world):
    assert "0 shield(s) to review" in run_reviews()  # six months away: nothing yet
    due = shield(world).review_due
    first = run_reviews("--today", (due + datetime.timedelta(days=1)).isoformat())
    assert world.shielded.contactpoint_id in first and "OVERDUE" in first and "team e-mailed (1)" in first
    assert "1 shield(s) to review, 1 overdue" in first
    (message,) = mail.outbox
    assert message.to == ["team@leeds.example"] and world.shielded.contactpoint_id in message.body
    assert "Morgan" not in message.body  # no child's details by mail

    again = run_reviews("--today", (due + datetime.timedelta(days=2)).isoformat())
    assert "team already told" in again and len(mail.outbox) == 1  # idempotent

    soon = run_reviews("--today", (due - datetime.timedelta(days=10)).isoformat(), "--no-mail")
    assert "\tdue\t" in soon and len(mail.outbox) == 1


def test_a_renewed_shield_is_notified_again_when_its_new_date_comes(world):
    due = shield(world).review_due
    run_reviews("--today", due.isoformat())
    renewed = shield_renew(
        shield=shield(world),
        actor=Actor.for_user(world.team),
        review_due=due + datetime.timedelta(days=30),
        today=due,
    )
    run_reviews("--today", renewed.review_due.isoformat())
    assert len(mail.outbox) == 2


def test_the_command_refuses_bad_options(world):
    with pytest.raises(CommandError, match="--today must be a date"):
        run_reviews("--today", "31/12/2026")
    with pytest.raises(CommandError, match="cannot be negative"):
        run_reviews("--within-days", "-1")


def test_only_the_shielding_authoritys_team_may_renew_or_end(world):
    from django.core.exceptions import PermissionDenied, ValidationError

    other = Actor.for_user(world.other_team)
    practitioner = Actor.for_user(world.practitioner)
    for actor in (other, practitioner):
        with pytest.raises(PermissionDenied):
            shield_end(shield=shield(world), actor=actor, reason="no longer needed")
        with pytest.raises(PermissionDenied):
            shield_renew(shield=shield(world), actor=actor, review_due=None)
    team = Actor.for_user(world.team)
    with pytest.raises(ValidationError, match="reason"):
        shield_end(shield=shield(world), actor=team, reason="  ")
    with pytest.raises(ValidationError, match="future"):
        shield_renew(shield=shield(world), actor=team, review_due=TODAY)
    assert shield(world).ended_at is None  # nothing changed by the refusals


def test_the_team_renews_a_shield_from_its_page_and_it_is_audited(client, world):
    sign_in_verified(client, world.team)
    listing = client.get(reverse("web:shields")).content.decode()
    assert world.shielded.contactpoint_id in listing and "Family in a refuge" in listing
    review = reverse("web:shield_review", args=[shield(world).pk])
    new_due = TODAY + datetime.timedelta(days=90)
    answer = client.post(
        review,
        {
            "decision": "renew",
            "next_day": new_due.day,
            "next_month": new_due.month,
            "next_year": new_due.year,
        },
    )
    assert answer.status_code == 302 and answer["Location"] == reverse("web:shields")
    assert shield(world).review_due == new_due and shield(world).reviewed_by == world.team
    event = AuditEvent.objects.filter(event_type=EventType.SHIELD, details__action="renewed").get()
    assert event.child_ids == [world.shielded.contactpoint_id] and event.actor_username == "team-383"


def test_ending_needs_a_reason_and_is_audited(client, world):
    sign_in_verified(client, world.team)
    review = reverse("web:shield_review", args=[shield(world).pk])
    missing = client.post(review, {"decision": "end", "end_reason": ""})
    assert (
        missing.status_code == 200 and "Enter why the shield is no longer needed" in missing.content.decode()
    )
    assert shield(world).ended_at is None
    nothing = client.post(review, {})
    assert "Select whether to keep the shield or end it" in nothing.content.decode()
    past = client.post(review, {"decision": "renew", "next_day": "1", "next_month": "1", "next_year": "2020"})
    assert "must be in the future" in past.content.decode()

    done = client.post(review, {"decision": "end", "end_reason": "Family rehoused safely"})
    assert done.status_code == 302
    ended = Shield.objects.get(child=world.shielded)
    assert ended.ended_at is not None and ended.end_reason == "Family rehoused safely"
    event = AuditEvent.objects.get(event_type=EventType.SHIELD, details__action="ended")
    assert event.reason == "Family rehoused safely"


def test_other_authorities_and_practitioners_cannot_reach_the_shield(client, world):
    review = reverse("web:shield_review", args=[shield(world).pk])
    sign_in_verified(client, world.other_team)
    assert world.shielded.contactpoint_id not in client.get(reverse("web:shields")).content.decode()
    assert client.get(review).status_code == 404
    assert client.post(review, {"decision": "end", "end_reason": "x"}).status_code == 404
    client.logout()
    sign_in_verified(client, world.practitioner)
    assert client.get(reverse("web:shields")).status_code == 403
    assert client.get(review).status_code == 403
    assert shield(world).ended_at is None


def test_a_stale_session_confirms_before_renewing_or_ending(client, world):
    import time

    from contactpoint.access.mfa import SECOND_FACTOR_AT

    sign_in_verified(client, world.team)
    session = client.session
    session[SECOND_FACTOR_AT] = time.time() - 3600
    session.save()
    review = reverse("web:shield_review", args=[shield(world).pk])
    assert client.get(review).status_code == 200  # reading the page needs no confirmation
    asked = client.post(review, {"decision": "end", "end_reason": "Family rehoused safely"})
    assert asked["Location"].startswith(reverse("account:confirm"))
    assert shield(world).ended_at is None
