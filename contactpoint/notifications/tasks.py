"""Notification work for the task queue. The tasks are nudges: the durable state is the outbox
(Event) and the Delivery rows, which `notify_dispatch` sweeps, so a lost task loses nothing."""

from django.tasks import task

from .services import delivery_attempt, event_fan_out, notifications_dispatch


@task()
def fan_out_task(event_id: int) -> list[int]:
    return event_fan_out(event_id=event_id)


@task()
def deliver_task(delivery_id: int) -> str:
    return str(delivery_attempt(delivery_id=delivery_id))


@task()
def dispatch_task() -> dict[str, int]:
    return notifications_dispatch()
