"""Reads of the audit log for management teams and auditors.

Every report is scoped: a local authority's team reviews what its own users did (events whose
actor belongs to its area); an auditor reviews everything (domain.md section 6). Reports hold
what the log holds: ids and actors, never a child's name.
"""

import datetime
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Q, QuerySet

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor

from .models import AuditEvent, EventType


@dataclass(frozen=True)
class AuditScope:
    """Whose events a reader may see: one authority's users, or (None) everyone's."""

    local_authority: str | None

    @property
    def everywhere(self) -> bool:
        return self.local_authority is None


EVERYWHERE = AuditScope(local_authority=None)


def audit_scope_for(actor: Actor) -> AuditScope:
    if actor.can(p.READ_AUDIT_ALL):
        return EVERYWHERE
    if actor.can(p.READ_AUDIT_AREA):
        return AuditScope(local_authority=actor.local_authority.code)
    raise PermissionDenied(f"The {actor.role} role cannot read the audit log.")


@dataclass(frozen=True)
class Period:
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None


def _events(scope: AuditScope, period: Period) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if not scope.everywhere:
        events = events.filter(actor_local_authority=scope.local_authority)
    if period.since:
        events = events.filter(occurred_at__gte=period.since)
    if period.until:
        events = events.filter(occurred_at__lt=period.until)
    return events.order_by("occurred_at", "id")


def _listing(events: QuerySet[AuditEvent], path: str, child_id: str) -> Iterator[AuditEvent]:
    """Events whose JSON list at `path` holds the child's id.

    PostgreSQL answers with jsonb containment (GIN-indexed, migration 0003). SQLite has no
    containment operator, so a text match narrows the rows and the list is checked exactly here.
    """
    if connection.vendor == "postgresql":
        yield from events.filter(**{f"{path}__contains": [child_id]}).iterator(chunk_size=2000)
        return
    for event in events.filter(**{f"{path}__icontains": child_id}).iterator(chunk_size=2000):
        listed: object = event.child_ids if path == "child_ids" else event.details.get("returned_ids")
        if isinstance(listed, list) and child_id in listed:
            yield event


def child_access_history(
    *, child_id: str, scope: AuditScope = EVERYWHERE, period: Period = Period()
) -> Iterator[AuditEvent]:
    """Who opened (or tried to open) this child's record: views, refusals and break-glass reveals."""
    events = _events(scope, period).filter(event_type__in=[EventType.VIEW, EventType.BREAK_GLASS])
    return _listing(events, "child_ids", child_id)


def searches_returning(
    *, child_id: str, scope: AuditScope = EVERYWHERE, period: Period = Period()
) -> Iterator[AuditEvent]:
    """Searches whose results included this child (details["returned_ids"], written by the search)."""
    events = _events(scope, period).filter(event_type=EventType.SEARCH)
    return _listing(events, "details__returned_ids", child_id)


def user_activity(
    *, username: str, scope: AuditScope = EVERYWHERE, period: Period = Period()
) -> Iterable[AuditEvent]:
    """Everything this user did, or had done on their behalf."""
    return (
        _events(scope, period)
        .filter(Q(actor_username=username) | Q(on_behalf_of=username))
        .iterator(chunk_size=2000)
    )


def break_glass_uses(*, scope: AuditScope = EVERYWHERE, period: Period = Period()) -> Iterable[AuditEvent]:
    return _events(scope, period).filter(event_type=EventType.BREAK_GLASS).iterator(chunk_size=2000)


def exports(*, scope: AuditScope = EVERYWHERE, period: Period = Period()) -> Iterable[AuditEvent]:
    return _events(scope, period).filter(event_type=EventType.EXPORT).iterator(chunk_size=2000)


def activity_recent(*, user_id: int, username: str, limit: int = 50) -> list[AuditEvent]:
    """A user's own latest events, newest first, including acts done on their behalf.

    Showing people their own trail lets them spot use of their account they do not recognise.
    """
    events = AuditEvent.objects.filter(
        Q(actor_user_id=user_id)
        | Q(actor_user_id__isnull=True, actor_username=username)  # sign-in steps, before there is an actor
        | Q(on_behalf_of=username)
    )
    return list(events.order_by("-occurred_at", "-id")[:limit])
