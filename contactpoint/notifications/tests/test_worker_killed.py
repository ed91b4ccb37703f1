"""A real worker process killed (SIGKILL) after sending and before recording: nothing is lost.

Needs a database another process can see while the test runs, so PostgreSQL only (SQLite test
databases live in the test process's memory); test_delivery covers the same path in-process.
"""

import datetime
import os
import signal
import subprocess
import sys

import pytest
from django.db import connection
from django.utils import timezone

from contactpoint.access.services import address_change_report
from contactpoint.notifications import events, services
from contactpoint.notifications.models import Channel, Delivery, DeliveryStatus, Event
from contactpoint.notifications.services import event_fan_out, notifications_dispatch, webhook_subscribe

from .receiver import Receiver
from .test_events import NEW_ADDRESS
from .world import build_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").split(":", 1)[0] not in ("postgres", "postgresql"),
        reason="needs PostgreSQL: the worker is another process",
    ),
]

WORKER = """
import time
import django
django.setup()
from contactpoint.notifications import services
real_post = services.webhook_post
def post_then_hang(**kwargs):
    real_post(**kwargs)
    print("sent", flush=True)
    time.sleep(120)  # killed here: sent, not yet recorded
services.webhook_post = post_then_hang
services.notifications_dispatch()
"""


def test_a_worker_killed_between_sending_and_recording_loses_nothing(settings, monkeypatch):
    settings.CONTACTPOINT_WEBHOOK_ALLOW_HTTP = True
    # no in-process worker (the test backend runs tasks at once): only the one that is killed
    monkeypatch.setattr(events, "_enqueue", lambda *args: None)
    monkeypatch.setattr(services, "_enqueue_deliveries", lambda ids: None)
    world = build_world()
    with Receiver() as receiver:
        _, receiver.secret = webhook_subscribe(
            actor=world.lead, url=receiver.url, event_kinds=["address_moved_area"]
        )
        address_change_report(actor=world.lead, child=world.child, reason="moved", address=NEW_ADDRESS)
        event = Event.objects.get(kind="address_moved_area")
        event_fan_out(event_id=event.pk)
        Event.objects.filter(fanned_out_at__isnull=True).update(fanned_out_at=timezone.now())  # set-up's
        Delivery.objects.exclude(channel=Channel.WEBHOOK).update(status=DeliveryStatus.DELIVERED)
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "contactpoint.settings.test",
            "DATABASE_URL": f"{base}/{connection.settings_dict['NAME']}",
            "CONTACTPOINT_NOTIFY_LEASE_SECONDS": "2",
        }
        worker = subprocess.Popen([sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "sent"
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
        delivery = Delivery.objects.get(channel=Channel.WEBHOOK)
        assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
        assert len(receiver.acted_on) == 1  # it did arrive, but the index cannot know that
        notifications_dispatch(now=timezone.now() + datetime.timedelta(seconds=3))  # the claim has lapsed
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
        assert len(receiver.requests) == 2 and len(receiver.acted_on) == 1  # once, thanks to the key
