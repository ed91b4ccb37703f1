"""Shielding a child from the team's page: reason required, audited, refusals change nothing."""

import html

import pytest
from django.urls import reverse

from contactpoint.access.models import Shield
from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.access.tests.test_reauth import age_second_factor
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tmp_path):
    return build_world(tmp_path)


def test_the_team_shields_a_child_with_a_reason_and_it_is_audited(client, world):
    sign_in_verified(client, world.team)
    child_id = world.child.contactpoint_id
    answer = client.post(
        reverse("web:shield_new"), {"contactpoint_id": f" {child_id.lower()} ", "reason": "Refuge"}
    )
    assert answer.status_code == 302 and answer["Location"] == reverse("web:shields")
    shield = Shield.objects.get(child=world.child, ended_at__isnull=True)
    assert shield.reason == "Refuge" and shield.local_authority.code == "383"
    event = AuditEvent.objects.get(event_type=EventType.SHIELD, child_ids=[child_id], details__action="added")
    assert event.actor_username == "team-383" and event.reason == "Refuge"
    listed = client.get(answer["Location"]).content.decode()
    assert f"{child_id} is shielded by Leeds City Council" in listed and child_id in listed


def test_bad_answers_are_refused_with_messages_and_change_nothing(client, world):
    sign_in_verified(client, world.team)
    before = (Shield.objects.count(), AuditEvent.objects.filter(event_type=EventType.SHIELD).count())
    url = reverse("web:shield_new")
    empty = html.unescape(client.post(url, {"contactpoint_id": "", "reason": "  "}).content.decode())
    assert "Enter the child's ContactPoint ID" in empty and "Enter why the child must be shielded" in empty
    unknown = client.post(url, {"contactpoint_id": "CP000000000000X", "reason": "Refuge"}).content.decode()
    assert "No child has that ContactPoint ID" in unknown and 'href="#id_contactpoint_id"' in unknown
    already = client.post(url, {"contactpoint_id": world.shielded.contactpoint_id, "reason": "Again"})
    assert "is already shielded" in already.content.decode()
    assert (Shield.objects.count(), AuditEvent.objects.filter(event_type=EventType.SHIELD).count()) == before


def test_only_teams_may_shield_and_a_stale_session_confirms_first(client, world, settings):
    sign_in_verified(client, world.practitioner)
    assert client.get(reverse("web:shield_new")).status_code == 403
    assert (
        client.post(
            reverse("web:shield_new"), {"contactpoint_id": world.child.contactpoint_id, "reason": "x"}
        ).status_code
        == 403
    )
    client.logout()
    settings.CONTACTPOINT_REAUTH_SECONDS = 300
    sign_in_verified(client, world.team)
    age_second_factor(client, 301)
    asked = client.post(
        reverse("web:shield_new"), {"contactpoint_id": world.child.contactpoint_id, "reason": "x"}
    )
    assert asked.status_code == 302 and asked["Location"].startswith(reverse("account:confirm"))
    assert not Shield.objects.filter(child=world.child).exists()
