"""Reads for shields (what an authority's team has shielded, which reviews are due) and for the
team's accounts and their vetting."""

import datetime

from django.db.models import Q, QuerySet

from . import permissions
from .actors import Actor
from .models import VETTING_LAPSE_NOTICE, VETTING_VALID_FOR, Profile, Shield


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


class VettingState:
    """Where an account's vetting stands, as the team's user list filters it."""

    CURRENT = "current"
    LAPSING = "lapsing"  # current, but the DBS check lapses within VETTING_LAPSE_NOTICE
    LAPSED = "lapsed"  # lapsed or incomplete: the account cannot be used
    SUSPENDED = "suspended"

    LABELS = {
        CURRENT: "Vetting current",
        LAPSING: "Vetting lapses soon",
        LAPSED: "Vetting lapsed or incomplete",
        SUSPENDED: "Suspended",
    }


def vetting_state(profile: Profile, *, today: datetime.date) -> str:
    if profile.suspended_at is not None or not profile.user.is_active:
        return VettingState.SUSPENDED
    if profile.vetting_problems(today):
        return VettingState.LAPSED
    lapses_on = profile.vetting_lapses_on
    if lapses_on is not None and lapses_on < today + VETTING_LAPSE_NOTICE:
        return VettingState.LAPSING
    return VettingState.CURRENT


def _vetting_filter(state: str, today: datetime.date) -> Q:
    """The same states as vetting_state, as a query, so a large area's list filters in the database."""
    active = Q(suspended_at__isnull=True, user__is_active=True)
    incomplete = (
        Q(dbs_checked_on__isnull=True)
        | Q(training_completed_on__isnull=True)
        | Q(agreement_signed_on__isnull=True)
        | Q(dbs_checked_on__lt=today - VETTING_VALID_FOR)
    )
    lapsing = Q(dbs_checked_on__lt=today + VETTING_LAPSE_NOTICE - VETTING_VALID_FOR)
    return {
        VettingState.SUSPENDED: ~active,
        VettingState.LAPSED: active & incomplete,
        VettingState.LAPSING: active & ~incomplete & lapsing,
        VettingState.CURRENT: active & ~incomplete & ~lapsing,
    }[state]


def users_for_team(*, actor: Actor, state: str = "", today: datetime.date | None = None) -> QuerySet[Profile]:
    """The accounts an authority's team manages: those in its own area, and no one else's."""
    if not actor.can(permissions.MANAGE_USERS):
        return Profile.objects.none()
    profiles = Profile.objects.filter(local_authority_id=actor.local_authority.pk).select_related(
        "user", "role", "organisation"
    )
    if state in VettingState.LABELS:
        profiles = profiles.filter(_vetting_filter(state, today or datetime.date.today()))
    return profiles.order_by("user__username")


def vetting_counts(*, actor: Actor, today: datetime.date | None = None) -> dict[str, int]:
    """How many of the area's accounts are in each vetting state (the list's filter counts)."""
    today = today or datetime.date.today()
    profiles = users_for_team(actor=actor)
    return {state: profiles.filter(_vetting_filter(state, today)).count() for state in VettingState.LABELS}
