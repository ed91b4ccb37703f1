"""The events that must reach the log: views (and refusals), sign-ins, shields, feed loads."""

import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse

from contactpoint.access.door import child_record_for
from contactpoint.access.tests.factories import actor_for
from contactpoint.audit.models import AuditEvent, EventType, Outcome
from contactpoint.feeds.services import feed_load, sources_sync
from contactpoint.feeds.tests.helpers import EXTRACTED, child_row, write_csv
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import ChildFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def la():
    return OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")


def test_every_record_view_is_audited_with_its_reason(la):
    child = ChildFactory()
    actor = actor_for("practitioner", la)
    child_record_for(actor, child, reason="Referral from school")
    event = AuditEvent.objects.get(event_type=EventType.VIEW)
    assert (event.outcome, event.actor_username, event.actor_role, event.reason, event.child_ids) == (
        Outcome.SUCCESS,
        actor.username,
        "practitioner",
        "Referral from school",
        [child.contactpoint_id],
    )
    assert event.actor_organisation == "383" and event.mac


@pytest.mark.parametrize(
    ("role", "reason", "error"), [("auditor", "why", PermissionDenied), ("practitioner", "", ValidationError)]
)
def test_refused_views_are_audited_too(la, role, reason, error):
    child = ChildFactory()
    with pytest.raises(error):
        child_record_for(actor_for(role, la), child, reason=reason)
    event = AuditEvent.objects.get(event_type=EventType.VIEW)
    assert event.outcome == Outcome.DENIED and event.child_ids == [child.contactpoint_id]


def test_sign_in_success_and_failure_are_audited(client):
    call_command(
        "create_user",
        "sam",
        "--role",
        "practitioner",
        "--organisation",
        "383",
        "--password",
        "a-long-password-for-tests",
        "--vetted",
        stdout=io.StringIO(),
    )
    client.post(reverse("web:login"), {"username": "sam", "password": "wrong"})
    client.post(reverse("web:login"), {"username": "sam", "password": "a-long-password-for-tests"})
    kinds = list(
        AuditEvent.objects.filter(actor_username="sam").order_by("id").values_list("event_type", "outcome")
    )
    assert kinds == [(EventType.SIGN_IN_FAILED, Outcome.DENIED), (EventType.SIGN_IN, Outcome.SUCCESS)]


def test_shielding_and_user_creation_are_audited(la):
    team = actor_for("la_management", la)
    child = ChildFactory()
    call_command(
        "shield_child",
        child.contactpoint_id,
        "--by",
        team.username,
        "--reason",
        "Refuge",
        stdout=io.StringIO(),
    )
    shield = AuditEvent.objects.get(event_type=EventType.SHIELD)
    assert (shield.actor_username, shield.child_ids, shield.reason) == (
        team.username,
        [child.contactpoint_id],
        "Refuge",
    )
    created = AuditEvent.objects.filter(event_type=EventType.ROLE_OR_VETTING).values_list(
        "details", flat=True
    )
    assert {"action": "user_created", "user": team.username, "role": "la_management", "vetted": True} in list(
        created
    )


def test_a_feed_load_is_audited_with_its_counts(tmp_path):
    sources_sync()
    feed_load(
        source_code="gp_registration",
        path=write_csv(tmp_path / "f.csv", [child_row("A1")]),
        extracted_at=EXTRACTED,
    )
    event = AuditEvent.objects.get(event_type=EventType.FEED_LOAD)
    assert event.details["source"] == "gp_registration" and event.details["loaded"] == 1
