"""Reads for shields: what an authority's team has shielded, and which reviews are due."""

import datetime

from django.db.models import QuerySet

from . import permissions
from .actors import Actor
from .models import Profile, Shield


def shields_active(*, local_authority_id: int | None = None) -> QuerySet[Shield]:
    shields = Shield.objects.filter(ended_at__isnull=True).select_related("child", "local_authority")
    if local_authority_id is not None:
        shields = shields.filter(local_authority_id=local_authority_id)
    return shields.order_by("review_due", "pk")


def shields_for_team(*, actor: Actor) -> QuerySet[Shield]:
    """The shields an authority's team answers for: its own, and no one else's."""
    if not actor.can(permissions.MANAGE_SHIELDING):
        return Shield.objects.none()
    return shields_active(local_authority_id=actor.local_authority.pk)


def shields_due(*, today: datetime.date, within_days: int = 0) -> QuerySet[Shield]:
    """Active shields whose review falls due on or before today + within_days (overdue ones too)."""
    return shields_active().filter(review_due__lte=today + datetime.timedelta(days=within_days))


def team_emails(*, local_authority_id: int) -> list[str]:
    """Addresses of the active members of an authority's team who may manage its shields."""
    profiles = Profile.objects.select_related("user", "role").filter(
        local_authority_id=local_authority_id, user__is_active=True, suspended_at__isnull=True
    )
    return sorted(
        profile.user.email
        for profile in profiles
        if profile.user.email and permissions.MANAGE_SHIELDING in profile.role.permissions
    )
