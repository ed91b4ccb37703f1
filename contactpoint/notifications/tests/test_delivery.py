"""Webhook delivery: signed, retried with back-off, dead-lettered, and at least once across a
worker that dies mid-delivery, with the receiver acting once per delivery."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from contactpoint.access.services import address_change_report
from contactpoint.notifications import services
from contactpoint.notifications.models import Channel, Delivery, DeliveryStatus, Event, EventKind
from contactpoint.notifications.services import (
    dead_letter_retry,
    delivery_attempt,
    notifications_dispatch,
    webhook_subscribe,
)
from contactpoint.notifications.webhooks import signature, signature_verify

from .receiver import Receiver
from .test_events import NEW_ADDRESS
from .world import World, build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings) -> World:
    settings.CONTACTPOINT_WEBHOOK_ALLOW_HTTP = True
    settings.CONTACTPOINT_WEBHOOK_BACKOFF_SECONDS = 30
    settings.CONTACTPOINT_WEBHOOK_MAX_ATTEMPTS = 3
    world = build_world()
    Event.objects.all().delete()
    return world


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def subscribe(world: World, receiver: Receiver, kinds=()):
    endpoint, secret = webhook_subscribe(actor=world.lead, url=receiver.url, event_kinds=list(kinds))
    receiver.secret = secret
    return endpoint


def move(world: World) -> None:
    address_change_report(actor=world.lead, child=world.child, reason="moved", address=NEW_ADDRESS)


def webhooks() -> list[Delivery]:
    return list(Delivery.objects.filter(channel=Channel.WEBHOOK).order_by("pk"))


def later(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


def test_the_receiver_verifies_the_signature_and_gets_ids_never_the_address(world, receiver):
    subscribe(world, receiver)
    move(world)
    counts = notifications_dispatch()
    assert counts["delivered"] >= 1
    (body,) = receiver.acted_on
    assert receiver.refused_signatures == 0
    assert body["event"] == EventKind.ADDRESS_MOVED_AREA
    assert body["child"] == world.child.contactpoint_id
    assert body["details"]["to_area"] == {
        "kind": "local_authority",
        "code": "352",
        "name": "Manchester City Council",
    }
    assert "Canal" not in str(body) and "M1" not in str(body)


def test_a_forged_or_stale_signature_is_refused_by_the_check():
    body = b'{"event": "shield_added"}'
    good = signature("s3cret", body, 1_700_000_000)
    assert signature_verify("s3cret", good, body, now=1_700_000_010)
    assert not signature_verify("other", good, body, now=1_700_000_010)  # wrong key
    assert not signature_verify("s3cret", good, body + b" ", now=1_700_000_010)  # changed body
    assert not signature_verify("s3cret", good, body, now=1_700_000_000 + 3600)  # replayed an hour later
    assert not signature_verify("s3cret", "garbage", body)


def test_a_scheduler_can_enqueue_the_sweep_as_a_task(world, receiver):
    """The task a scheduler enqueues does what `notify_dispatch` does (docs/notifications.md)."""
    from contactpoint.notifications.tasks import dispatch_task

    subscribe(world, receiver)
    move(world)
    result = dispatch_task.enqueue()
    assert result.return_value["delivered"] >= 1  # the inboxes and the one webhook
    assert [body["child"] for body in receiver.acted_on] == [world.child.contactpoint_id]


def test_only_the_kinds_subscribed_to_are_sent(world, receiver):
    subscribe(world, receiver, kinds=[EventKind.SHIELD_ADDED])
    move(world)
    notifications_dispatch()
    assert receiver.requests == []


def test_failures_back_off_then_deliver_once(world, receiver):
    subscribe(world, receiver)
    move(world)
    receiver.answers = [500]
    notifications_dispatch()
    (delivery,) = webhooks()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.PENDING,
        1,
        "HTTP 500 from the receiver",
    )
    assert delivery.next_attempt_at > later(25)  # backed off, not retried at once
    notifications_dispatch()
    assert len(receiver.requests) == 1  # not due yet
    notifications_dispatch(now=later(31))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 2 and len(receiver.acted_on) == 1
    assert {r["key"] for r in receiver.requests} == {delivery.idempotency_key}  # the same key each time


def test_after_the_last_attempt_a_delivery_is_a_dead_letter_and_can_be_sent_again(world, receiver):
    subscribe(world, receiver)
    move(world)
    receiver.answers = [503, 503, 503]
    notifications_dispatch()
    notifications_dispatch(now=later(31))
    notifications_dispatch(now=later(92))
    (delivery,) = webhooks()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DEAD, 3)
    notifications_dispatch(now=later(10_000))
    assert len(receiver.requests) == 3  # dead letters wait for a person
    dead_letter_retry(actor=world.lead, delivery=delivery)
    notifications_dispatch()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.acted_on) == 1


def test_a_worker_killed_after_sending_loses_nothing_and_the_receiver_acts_once(world, receiver, monkeypatch):
    subscribe(world, receiver)
    move(world)
    services.event_fan_out(event_id=Event.objects.get().pk)
    (delivery,) = webhooks()
    real_post = services.webhook_post

    def post_then_die(**kwargs):
        real_post(**kwargs)
        raise SystemExit("worker killed between sending and recording")

    monkeypatch.setattr(services, "webhook_post", post_then_die)
    with pytest.raises(SystemExit):
        delivery_attempt(delivery_id=delivery.pk)
    monkeypatch.setattr(services, "webhook_post", real_post)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.claimed_until is not None
    notifications_dispatch()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING  # the dead worker's claim has not lapsed yet
    assert len(receiver.requests) == 1
    notifications_dispatch(now=later(121))  # it has now
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 2  # sent twice: at least once
    assert len(receiver.acted_on) == 1  # acted on once: the receiver de-duplicated


def test_a_worker_that_dies_before_fanning_out_loses_nothing(
    world, receiver, django_capture_on_commit_callbacks
):
    """The change commits; the nudge to the queue is lost with the process; the sweep finds the event."""
    subscribe(world, receiver)
    with django_capture_on_commit_callbacks(execute=False) as lost:
        move(world)
    assert lost  # the nudges that never ran
    assert Event.objects.filter(fanned_out_at__isnull=True).count() == 1
    notifications_dispatch()
    assert len(receiver.acted_on) == 1


def test_a_delivery_queued_before_a_shield_is_withheld(world, receiver):
    from contactpoint.access.services import shield_add

    subscribe(world, receiver, kinds=[EventKind.ADDRESS_MOVED_AREA])
    move(world)
    services.event_fan_out(event_id=Event.objects.get(kind=EventKind.ADDRESS_MOVED_AREA).pk)
    shield_add(child=world.child, actor=world.manchester_team, reason="refuge")
    notifications_dispatch()
    (delivery,) = webhooks()
    assert delivery.status == DeliveryStatus.WITHHELD
    assert receiver.requests == []


def test_subscriptions_need_https_and_known_kinds(world, settings):
    settings.CONTACTPOINT_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(ValidationError, match="https"):
        webhook_subscribe(actor=world.lead, url="http://cms.example/hook", event_kinds=[])
    with pytest.raises(ValidationError, match="Unknown event kinds: nonsense"):
        webhook_subscribe(actor=world.lead, url="https://cms.example/hook", event_kinds=["nonsense"])
