"""Fan-out and delivery: who is told of an event, through the door, and how it reaches them.

Receivers are the responsible local authority's ContactPoint team (for a move, the old area's
and the new one's), the lead professional, practitioners working with the child who opted in,
and case-management systems subscribed by an organisation that works with the child or is its
authority. Each is told only if the door says they may know (access.door.child_record_for_notice),
decided again at each attempt, so a shield added meanwhile withholds what is still queued.
Delivery is at least once: a worker that dies after sending and before recording it sends again
after its claim lapses, with the same idempotency key.
"""

import datetime
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.door import child_record_for_notice
from contactpoint.access.models import Profile
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records.models import Organisation
from contactpoint.records.selectors import live_involvements

from .models import Channel, Delivery, DeliveryStatus, Event, EventKind, Preference, WebhookEndpoint
from .webhooks import WebhookFailed, webhook_post

logger = logging.getLogger(__name__)

# Events that say where the child is or who works with it: a shielded record hides both.
WHEREABOUTS = frozenset(
    {
        EventKind.ADDRESS_MOVED_AREA,
        EventKind.INVOLVEMENT_STARTED,
        EventKind.INVOLVEMENT_ENDED,
        EventKind.LEAD_PROFESSIONAL_CHANGED,
        EventKind.EMERGENCY_LOOKUP,
    }
)
OWN_RECORD_ID = re.compile(r"user-(\d+)-")


def idempotency_key(event: Event, channel: str, receiver: str) -> str:
    return hashlib.sha256(f"{event.uid}:{channel}:{receiver}".encode()).hexdigest()


# -- who may be told ---------------------------------------------------------------------------


def _actor(user_id: int) -> Actor | None:
    """The receiver as an actor; a suspended or unvetted account is told nothing."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        return None
    try:
        return Actor.for_user(user)
    except PermissionDenied:
        return None


def _sensitive_organisation(event: Event) -> int | None:
    details = event.details
    if not details.get("sensitive"):
        return None
    if event.kind == EventKind.LEAD_PROFESSIONAL_CHANGED:
        return details.get("to_organisation") or details.get("from_organisation")
    return details.get("organisation")


def may_know(actor: Actor, event: Event) -> bool:
    """The door's answer for every child the event names."""
    # A possible duplicate's shield says the child may be a shielded child: only for those who see through.
    through_shield = event.details.get("shield") if event.details.get("possible_duplicate") else None
    children = [event.child] + ([event.other_child] if event.other_child_id else [])
    return all(
        child_record_for_notice(
            actor,
            child,
            whereabouts=event.kind in WHEREABOUTS,
            sensitive_organisation_id=_sensitive_organisation(event),
            through_shield_id=through_shield,
        )
        for child in children
        if child is not None
    )


def involvement_user_id(involvement) -> int | None:
    """The account behind an involvement: its own record id when recorded on the pages, else the
    organisation's user whose email is the practitioner's."""
    if match := OWN_RECORD_ID.match(involvement.source_record_id):
        return int(match.group(1))
    practitioner = involvement.practitioner
    if practitioner is None or not practitioner.email:
        return None
    profile = Profile.objects.filter(
        organisation_id=involvement.organisation_id, user__email__iexact=practitioner.email
    ).first()
    return profile.user_id if profile else None


@dataclass
class Receivers:
    users: set[int]
    endpoints: list[WebhookEndpoint]


def receivers_of(event: Event) -> Receivers:
    child_ids = [event.child_id] + ([event.other_child_id] if event.other_child_id else [])
    areas = set(event.details.get("areas", []))
    areas |= {event.details[k] for k in ("from_area", "to_area") if event.details.get(k)}
    if event.details.get("possible_duplicate"):  # linkage's shield: the shielding team reviews the pair
        areas.add(event.details["shielding_area"])
    users: set[int] = set()
    for profile in Profile.objects.filter(local_authority_id__in=areas).select_related("role"):
        if p.MANAGE_SHIELDING in profile.role.permissions:  # the authority's ContactPoint team
            users.add(profile.user_id)
    involvements = list(live_involvements(child_ids))
    for key in ("from_user", "to_user"):
        if event.details.get(key):
            users.add(event.details[key])
    opted_in = set(Preference.objects.filter(involved_children=True).values_list("user_id", flat=True))
    for involvement in involvements:
        user_id = involvement_user_id(involvement)
        if user_id and (involvement.is_lead_professional or user_id in opted_in):
            users.add(user_id)
    organisations = areas | {i.organisation_id for i in involvements}
    organisations |= {
        event.details[k]
        for k in ("organisation", "from_organisation", "to_organisation")
        if event.details.get(k) and event.kind != EventKind.EMERGENCY_LOOKUP
    }
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(organisation_id__in=organisations, disabled_at__isnull=True)
        if e.wants(event.kind)
    ]
    return Receivers(users=users, endpoints=endpoints)


# -- fan-out -----------------------------------------------------------------------------------


def _wants_email(user_id: int) -> bool:
    preference = Preference.objects.filter(user_id=user_id).first()
    return preference.email if preference else True


def event_fan_out(*, event_id: int) -> list[int]:
    """Make the event's deliveries, once (a second call finds it done). Returns the deliveries to send.

    The decision is audited with the ids of those told, in the same transaction.
    """
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(of=("self",))
            .select_related("child", "other_child")
            .filter(pk=event_id, fanned_out_at__isnull=True)
            .first()
        )
        if event is None:
            return []
        receivers = receivers_of(event)
        told_users, told_endpoints, to_send = [], [], []
        now = timezone.now()
        for user_id in sorted(receivers.users):
            actor = _actor(user_id)
            if actor is None or not may_know(actor, event):
                continue
            told_users.append(user_id)
            _delivery(
                event, Channel.IN_APP, user_id=user_id, status=DeliveryStatus.DELIVERED, delivered_at=now
            )
            email = get_user_model().objects.filter(pk=user_id).values_list("email", flat=True).first()
            if email and _wants_email(user_id):
                to_send.append(_delivery(event, Channel.EMAIL, user_id=user_id))
        for endpoint in receivers.endpoints:
            actor = _actor(endpoint.owner_id)
            if actor is None or not may_know(actor, event):
                continue
            told_endpoints.append(endpoint.pk)
            to_send.append(_delivery(event, Channel.WEBHOOK, endpoint=endpoint))
        Event.objects.filter(pk=event.pk).update(fanned_out_at=now)
        if told_users or told_endpoints:
            audit_record(
                event_type=EventType.ADMIN,
                username="notifications",
                child_ids=[c.contactpoint_id for c in (event.child, event.other_child) if c is not None],
                details={
                    "action": "notification_fanned_out",
                    "event": str(event.uid),
                    "kind": event.kind,
                    "users": told_users,
                    "webhooks": told_endpoints,
                },
            )
        sent = [d for d in to_send if d is not None]
        transaction.on_commit(lambda: _enqueue_deliveries(sent), robust=True)
    return sent


def _delivery(
    event: Event, channel: str, *, user_id: int | None = None, endpoint=None, **fields
) -> int | None:
    receiver = f"user:{user_id}" if user_id else f"endpoint:{endpoint.pk}"
    delivery, created = Delivery.objects.get_or_create(
        idempotency_key=idempotency_key(event, channel, receiver),
        defaults={"event": event, "channel": channel, "user_id": user_id, "endpoint": endpoint, **fields},
    )
    return delivery.pk if created else None


def _enqueue_deliveries(delivery_ids: Iterable[int]) -> None:
    from .tasks import deliver_task

    for delivery_id in delivery_ids:
        deliver_task.enqueue(delivery_id)


# -- delivery ----------------------------------------------------------------------------------


def _backoff(attempts: int) -> datetime.timedelta:
    base = settings.CONTACTPOINT_WEBHOOK_BACKOFF_SECONDS
    return datetime.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 60 * 60))


def delivery_claim(*, delivery_id: int, now: datetime.datetime | None = None) -> Delivery | None:
    """Take a due delivery for one attempt; None if it is not due, done, or another worker has it."""
    now = now or timezone.now()
    lease = datetime.timedelta(seconds=settings.CONTACTPOINT_NOTIFY_LEASE_SECONDS)
    claimed = (
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + lease, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("event__child", "event__other_child", "endpoint", "user").get(
        pk=delivery_id
    )


def delivery_attempt(*, delivery_id: int, now: datetime.datetime | None = None) -> str:
    """Send one delivery once; returns its status afterwards ('skipped' when not claimed)."""
    delivery = delivery_claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return "skipped"
    event = delivery.event
    owner = delivery.endpoint.owner_id if delivery.endpoint else delivery.user_id
    actor = _actor(owner) if owner else None
    if actor is None or not may_know(actor, event):
        _finish(delivery, DeliveryStatus.WITHHELD, error="the receiver may no longer see this")
        return DeliveryStatus.WITHHELD
    try:
        if delivery.channel == Channel.WEBHOOK:
            endpoint = delivery.endpoint
            assert endpoint is not None
            if endpoint.disabled_at is not None:
                _finish(delivery, DeliveryStatus.WITHHELD, error="the subscription was removed")
                return DeliveryStatus.WITHHELD
            body = json.dumps(webhook_body(delivery, actor), sort_keys=True).encode()
            webhook_post(
                url=endpoint.url,
                secret=endpoint.secret,
                body=body,
                idempotency_key=delivery.idempotency_key,
                kind=event.kind,
            )
        else:
            _email(delivery)
    except (WebhookFailed, OSError) as failure:
        return _failed(delivery, str(failure))
    _finish(delivery, DeliveryStatus.DELIVERED)
    return DeliveryStatus.DELIVERED


def _finish(delivery: Delivery, status: str, *, error: str = "") -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        claimed_until=None,
        delivered_at=timezone.now() if status == DeliveryStatus.DELIVERED else None,
        last_error=error[:500],
    )


def _failed(delivery: Delivery, error: str) -> str:
    """Back off and retry; after the last attempt the delivery is a dead letter, kept for a human."""
    if delivery.attempts >= settings.CONTACTPOINT_WEBHOOK_MAX_ATTEMPTS:
        _finish(delivery, DeliveryStatus.DEAD, error=error)
        logger.warning(
            "delivery %s is a dead letter after %s attempts: %s", delivery.pk, delivery.attempts, error
        )
        return DeliveryStatus.DEAD
    retry_at = timezone.now() + _backoff(delivery.attempts)
    Delivery.objects.filter(pk=delivery.pk).update(
        claimed_until=None, next_attempt_at=retry_at, last_error=error[:500]
    )
    _enqueue_retry(delivery.pk, retry_at)
    return DeliveryStatus.PENDING


def _enqueue_retry(delivery_id: int, at: datetime.datetime) -> None:
    """With a backend that can defer, the retry is queued for its time; the dispatcher catches the rest."""
    from .tasks import deliver_task

    if deliver_task.get_backend().supports_defer:
        deliver_task.using(run_after=at).enqueue(delivery_id)


def _organisation_ref(pk: int | None) -> dict[str, str] | None:
    organisation = Organisation.objects.filter(pk=pk).first() if pk else None
    if organisation is None:
        return None
    return {"kind": organisation.kind, "code": organisation.code, "name": organisation.name}


def webhook_body(delivery: Delivery, actor: Actor) -> dict[str, Any]:
    """What a system is sent: ids, kinds and organisations' public register entries, never a value
    from the child's record (the receiver reads the record itself, through the API, with a reason)."""
    event = delivery.event
    details: dict[str, Any] = {}
    for key in ("organisation", "from_organisation", "to_organisation", "from_area", "to_area"):
        if key in event.details:
            details[key] = _organisation_ref(event.details[key])
    for key in ("service_type", "sensitive"):
        if key in event.details:
            details[key] = event.details[key]
    return {
        "id": delivery.idempotency_key,
        "event": event.kind,
        "event_id": str(event.uid),
        "occurred_at": event.occurred_at.isoformat(),
        "child": event.child.contactpoint_id,
        "other_child": event.other_child.contactpoint_id if event.other_child else None,
        "details": details,
    }


def _email(delivery: Delivery) -> None:
    event, user = delivery.event, delivery.user
    assert user is not None
    label = EventKind(event.kind).label
    site = settings.CONTACTPOINT_SITE_URL.rstrip("/")
    send_mail(
        f"ContactPoint: {label.lower()} ({event.child.contactpoint_id})",
        f"{label}: {event.child.contactpoint_id}"
        + (f" and {event.other_child.contactpoint_id}" if event.other_child else "")
        + f".\n\nSign in to ContactPoint to see what you may: {site}/notifications/\n\n"
        "This message holds no other details of the child. Reference: " + delivery.idempotency_key[:16],
        settings.DEFAULT_FROM_EMAIL,
        [user.email],
    )


# -- the dispatcher: the safety net under the task queue --------------------------------------


def notifications_dispatch(*, now: datetime.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Fan out events nobody fanned out and attempt deliveries that are due (including claims that
    lapsed because a worker died). Safe to run at any time, in any number of processes."""
    counts = {"fanned_out": 0, "delivered": 0, "retrying": 0, "dead": 0, "withheld": 0}
    for event_id in (
        Event.objects.filter(fanned_out_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:limit]
    ):
        event_fan_out(event_id=event_id)
        counts["fanned_out"] += 1
    now = now or timezone.now()  # after the fan-out, so the deliveries it just made are due
    due = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    outcome_names: dict[str, str] = {
        DeliveryStatus.DELIVERED: "delivered",
        DeliveryStatus.PENDING: "retrying",
        DeliveryStatus.DEAD: "dead",
        DeliveryStatus.WITHHELD: "withheld",
    }
    for delivery_id in list(due):
        outcome = delivery_attempt(delivery_id=delivery_id, now=now)
        if outcome in outcome_names:
            counts[outcome_names[outcome]] += 1
    return counts


# -- subscriptions, preferences, the in-app list -----------------------------------------------


def check_may_subscribe(actor: Actor) -> None:
    if not actor.can(p.VIEW_CHILD_RECORD):
        raise PermissionDenied(
            f"The {actor.role} role cannot see children's records, so cannot be told of changes."
        )


def webhook_subscribe(*, actor: Actor, url: str, event_kinds: list[str]) -> tuple[WebhookEndpoint, str]:
    """Register a system's endpoint for its organisation. Returns it and its signing secret (shown once
    to the caller; kept, since every delivery is signed with it)."""
    check_may_subscribe(actor)
    scheme = url.split(":", 1)[0].lower()
    if scheme != "https" and not (scheme == "http" and settings.CONTACTPOINT_WEBHOOK_ALLOW_HTTP):
        raise ValidationError({"url": "Webhook addresses must use https."})
    unknown = sorted(set(event_kinds) - set(EventKind.values))
    if unknown:
        raise ValidationError({"events": f"Unknown event kinds: {', '.join(unknown)}."})
    secret = secrets.token_hex(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            organisation=actor.organisation,
            owner_id=actor.user_id,
            url=url,
            secret=secret,
            event_kinds=sorted(set(event_kinds)),
        )
        audit_record(
            event_type=EventType.ADMIN,
            actor=actor,
            details={"action": "webhook_subscribed", "endpoint": endpoint.pk, "kinds": endpoint.event_kinds},
        )
    return endpoint, secret


def webhook_unsubscribe(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk, disabled_at__isnull=True).update(
            disabled_at=timezone.now()
        )
        audit_record(
            event_type=EventType.ADMIN,
            actor=actor,
            details={"action": "webhook_unsubscribed", "endpoint": endpoint.pk},
        )


def dead_letter_retry(*, actor: Actor, delivery: Delivery) -> None:
    """Send a dead letter again (the receiver is fixed): one more round of attempts."""
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.DEAD).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now(), claimed_until=None
        )
        audit_record(
            event_type=EventType.ADMIN,
            actor=actor,
            details={"action": "dead_letter_retried", "delivery": delivery.pk},
        )
    transaction.on_commit(lambda: _enqueue_deliveries([delivery.pk]), robust=True)


def preference_save(*, user_id: int, involved_children: bool, email: bool) -> Preference:
    preference, _ = Preference.objects.update_or_create(
        user_id=user_id, defaults={"involved_children": involved_children, "email": email}
    )
    return preference


def notifications_mark_read(*, user_id: int, delivery_ids: Iterable[int] | None = None) -> int:
    unread = Delivery.objects.filter(user_id=user_id, channel=Channel.IN_APP, read_at__isnull=True)
    if delivery_ids is not None:
        unread = unread.filter(pk__in=list(delivery_ids))
    return unread.update(read_at=timezone.now())


@transaction.atomic
def postcode_districts_load(*, rows: Iterable[dict[str, str]]) -> int:
    """Replace the district → authority register (idempotent). Refuses rows naming an unknown authority."""
    from contactpoint.records.models import OrganisationKind

    from .models import PostcodeDistrict

    authorities = dict(
        Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY).values_list("code", "pk")
    )
    wanted: dict[str, int] = {}
    for number, row in enumerate(rows, start=2):
        district = (row.get("district") or "").strip().upper()
        code = (row.get("local_authority_code") or "").strip()
        if not district or len(district) > 4 or code not in authorities:
            raise ValueError(
                f"Line {number}: needs a district (up to 4 characters) and a known local authority code."
            )
        wanted[district] = authorities[code]
    PostcodeDistrict.objects.exclude(district__in=wanted).delete()
    for district, authority in wanted.items():
        PostcodeDistrict.objects.update_or_create(
            district=district, defaults={"local_authority_id": authority}
        )
    return len(wanted)
