"""Reads for the notifications pages and API: a user's own notifications, an authority's lookups."""

from django.db.models import QuerySet

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.records.models import Child

from .events import areas_of
from .models import Channel, Delivery, DeliveryStatus, EmergencyLookup, WebhookEndpoint

EMERGENCY_LOOKUPS_SHOWN = 25


def inbox_for(*, user_id: int) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(user_id=user_id, channel=Channel.IN_APP)
        .select_related("event__child", "event__other_child")
        .order_by("-event__occurred_at", "-pk")
    )


def unread_count(*, user_id: int) -> int:
    return Delivery.objects.filter(user_id=user_id, channel=Channel.IN_APP, read_at__isnull=True).count()


def endpoints_for(*, actor: Actor) -> QuerySet[WebhookEndpoint]:
    """An organisation's systems share their subscriptions: any of its users may manage them."""
    return WebhookEndpoint.objects.filter(organisation=actor.organisation, disabled_at__isnull=True).order_by(
        "pk"
    )


def dead_letters_for(*, endpoint: WebhookEndpoint) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.DEAD)
        .select_related("event__child")
        .order_by("-event__occurred_at")
    )


def responsible_for(actor: Actor, child: Child) -> bool:
    """The child's responsible authority's team: they see its emergency lookups (CP-IS)."""
    return actor.can(p.MANAGE_SHIELDING) and areas_of([child.pk]).get(child.pk) == actor.local_authority.pk


def emergency_lookups_for(*, actor: Actor, child: Child) -> list[EmergencyLookup]:
    """The latest lookups of a child from emergency settings, for its responsible authority only."""
    if not responsible_for(actor, child):
        return []
    return list(
        EmergencyLookup.objects.filter(child=child)
        .select_related("organisation", "user")
        .order_by("-occurred_at", "-pk")[:EMERGENCY_LOOKUPS_SHOWN]
    )


def area_emergency_lookups(*, actor: Actor, limit_children: int = 50) -> dict[Child, list[EmergencyLookup]]:
    """For the team's page: its area's children with recent lookups, each with its latest 25."""
    if not actor.can(p.MANAGE_SHIELDING):
        return {}
    recent_children = list(
        EmergencyLookup.objects.order_by("-occurred_at").values_list("child_id", flat=True).distinct()[:1000]
    )
    areas = areas_of(recent_children)
    mine = [c for c in dict.fromkeys(recent_children) if areas.get(c) == actor.local_authority.pk][
        :limit_children
    ]
    found: dict[Child, list[EmergencyLookup]] = {}
    for child in Child.objects.filter(pk__in=mine):
        found[child] = emergency_lookups_for(actor=actor, child=child)
    return found
