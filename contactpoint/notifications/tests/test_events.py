"""Each event is raised with its change, and reaches exactly the receivers allowed to see it."""

import datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from contactpoint.access.services import address_change_report, shield_add, shield_end
from contactpoint.audit.models import AuditEvent
from contactpoint.linkage.services import children_merge, merge_undo
from contactpoint.notifications.models import Channel, Delivery, Event, EventKind, Preference
from contactpoint.notifications.services import notifications_dispatch
from contactpoint.records.models import ServiceType
from contactpoint.records.services import address_report
from contactpoint.records.tests.factories import SourceFactory

from .world import World, build_world, child_in, end_involvement, involve

pytestmark = pytest.mark.django_db

NEW_ADDRESS = {
    "status": "current",
    "address_line_1": "3 Canal Street",
    "town": "Manchester",
    "postcode": "M1 3HE",
}


@pytest.fixture
def world() -> World:
    world = build_world()
    Event.objects.all().delete()  # the world's own set-up is not under test
    return world


def told(kind: str) -> set[str]:
    """Usernames told in the app of the latest event of this kind."""
    event = Event.objects.filter(kind=kind).latest("pk")
    return set(
        Delivery.objects.filter(event=event, channel=Channel.IN_APP).values_list("user__username", flat=True)
    )


def test_a_move_to_another_area_is_raised_with_the_change_and_told_to_both_teams_and_the_lead(world):
    address_change_report(actor=world.lead, child=world.child, reason="moved", address=NEW_ADDRESS)
    event = Event.objects.get()
    assert event.kind == EventKind.ADDRESS_MOVED_AREA
    assert event.details == {
        "from_area": world.leeds.pk,
        "to_area": world.manchester.pk,
        "areas": [world.manchester.pk],
    }
    assert "Canal" not in str(event.details)  # the outbox holds ids, never the address
    notifications_dispatch()
    assert told(EventKind.ADDRESS_MOVED_AREA) == {"team-leeds", "team-manchester", "social-worker"}


def test_a_refused_change_raises_nothing(world):
    with pytest.raises(ValidationError):
        address_change_report(actor=world.lead, child=world.child, reason="", address=NEW_ADDRESS)
    assert not Event.objects.exists()


def test_a_move_within_the_area_is_not_an_event(world):
    address_change_report(
        actor=world.lead, child=world.child, reason="moved", address={**NEW_ADDRESS, "postcode": "LS6 4QQ"}
    )
    assert not Event.objects.exists()


def test_a_shielded_childs_move_travels_only_to_the_shielding_team(world):
    shield_add(child=world.child, actor=world.leeds_team, reason="refuge")
    notifications_dispatch()
    address_report(child=world.child, source=SourceFactory(authority_rank=5), data=NEW_ADDRESS)  # a feed
    notifications_dispatch()
    assert told(EventKind.ADDRESS_MOVED_AREA) == {"team-leeds"}
    # the shield itself is no secret from those working with the child: they see less from now on
    assert told(EventKind.SHIELD_ADDED) == {"team-leeds", "social-worker"}


def test_opted_in_practitioners_are_told_of_new_involvements_others_are_not(world):
    Preference.objects.create(user_id=world.school_nurse.user_id, involved_children=True)
    involve(world.bystander, world.child, ServiceType.EDUCATION_WELFARE)
    notifications_dispatch()
    event = Event.objects.get(kind=EventKind.INVOLVEMENT_STARTED)
    assert event.details["service_type"] == ServiceType.EDUCATION_WELFARE
    # the bystander is now involved but has not opted in; the nurse has
    assert told(EventKind.INVOLVEMENT_STARTED) == {"team-leeds", "social-worker", "school-nurse"}


def test_ending_the_lead_involvement_raises_the_end_and_the_lead_change(world):
    end_involvement(world.lead, world.child, datetime.date.today())
    kinds = sorted(Event.objects.values_list("kind", flat=True))
    assert kinds == [EventKind.INVOLVEMENT_ENDED, EventKind.LEAD_PROFESSIONAL_CHANGED]
    lead_change = Event.objects.get(kind=EventKind.LEAD_PROFESSIONAL_CHANGED)
    assert lead_change.details["from_organisation"] == world.leeds.pk
    assert lead_change.details["to_organisation"] is None


def test_national_partners_are_never_told_of_sensitive_services(world):
    from contactpoint.notifications.services import may_know

    involve(world.lead, world.child, ServiceType.SOCIAL_CARE, lead=True)  # unchanged: no event
    assert not Event.objects.exists()
    from contactpoint.access.tests.factories import actor_for
    from contactpoint.records.services import own_involvement_record

    therapist = actor_for("practitioner", world.school_nurse.organisation, username="therapist")
    own_involvement_record(
        actor=therapist,
        child=world.child,
        changes={
            "service_type": ServiceType.MENTAL_HEALTH,
            "start_date": datetime.date.today(),
            "sensitive_basis": "significant_harm",
        },
        expected_version=None,
    )
    event = Event.objects.get()
    assert event.details["sensitive"] is True
    assert may_know(world.school_nurse, event)  # the providing service
    assert may_know(world.leeds_team, event)  # the authority's team
    assert not may_know(world.lead, event)  # another practitioner, without the child's consent
    assert not may_know(world.partner, event)


def test_merge_and_undo_are_told_to_both_childrens_people(world):
    other = child_in("M1 1AA")
    merge = children_merge(survivor=world.child, merged=other, reason="same child")
    notifications_dispatch()
    event = Event.objects.get(kind=EventKind.CHILDREN_MERGED)
    assert (event.child_id, event.other_child_id) == (world.child.pk, other.pk)
    assert told(EventKind.CHILDREN_MERGED) == {"team-leeds", "team-manchester", "social-worker"}
    merge_undo(merge=merge, reason="different children")
    assert Event.objects.filter(kind=EventKind.MERGE_UNDONE, other_child=other).exists()


def test_shield_removed_is_told_and_every_fan_out_is_audited(world):
    shield = shield_add(child=world.child, actor=world.leeds_team, reason="refuge")
    shield_end(shield=shield, actor=world.leeds_team, reason="family safe")
    notifications_dispatch()
    assert told(EventKind.SHIELD_REMOVED) == {"team-leeds", "social-worker"}
    fanned = AuditEvent.objects.filter(details__action="notification_fanned_out")
    assert fanned.count() == 2
    assert all(world.child.contactpoint_id in e.child_ids for e in fanned)


def test_email_goes_to_those_told_who_want_it_and_holds_no_details(world, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    Preference.objects.create(user_id=world.leeds_team.user_id, email=False)
    address_change_report(actor=world.lead, child=world.child, reason="moved", address=NEW_ADDRESS)
    notifications_dispatch()
    recipients = sorted(r for message in mail.outbox for r in message.to)
    assert recipients == ["social-worker@example.gov.uk", "team-manchester@example.gov.uk"]
    assert all("Canal" not in m.body and "M1" not in m.body for m in mail.outbox)
    assert world.child.contactpoint_id in mail.outbox[0].subject


def test_fanning_out_twice_makes_no_second_delivery(world):
    from contactpoint.notifications.services import event_fan_out

    address_change_report(actor=world.lead, child=world.child, reason="moved", address=NEW_ADDRESS)
    event = Event.objects.get()
    event_fan_out(event_id=event.pk)
    count = Delivery.objects.count()
    Event.objects.filter(pk=event.pk).update(fanned_out_at=None)  # as if the first commit was not seen
    event_fan_out(event_id=event.pk)
    assert Delivery.objects.count() == count > 0
