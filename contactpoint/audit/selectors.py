"""Reads of the audit log."""

from django.db.models import Q

from .models import AuditEvent


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
