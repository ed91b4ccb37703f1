"""Reads the one door asks of retention: is this child archived, and may this actor see it."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor

from . import policy
from .models import ChildRetention, RetentionState


class ChildArchived(PermissionDenied):
    """The record is archived (by retention, or out of the targeted scope) and this actor, on this
    basis, may not open it. A refusal that depends on the child: the API answers it like an ID
    never issued (404)."""


def _first_year(archived_on: datetime.date, today: datetime.date) -> bool:
    return today < policy.years_after(archived_on, policy.DATA_MANAGER_ARCHIVE_YEARS)


def archive_access(
    actor: Actor, child_id: int, *, basis: str = "", today: datetime.date | None = None
) -> dict[str, str]:
    """{} for a live record. For an archived one, what the audit event records about the access
    (when it was archived and on what ground it was opened); raises when it may not be opened.

    Ordinary users never open an archived record. Data managers may in its first year; after
    that, only roles granted archive review, and only for an s47 enquiry, a serious case review or
    a child death review (domain.md section 7).
    """
    return archive_access_on(actor, archived_on_of(child_id), basis=basis, today=today)


def archived_on_of(child_id: int) -> datetime.date | None:
    return archived_on_query(child_id).first()


def archived_on_query(child_id):
    """When the child's record was archived, as a query (the door reads it with the shield)."""
    return ChildRetention.objects.filter(child_id=child_id, state=RetentionState.ARCHIVED).values_list(
        "archived_on", flat=True
    )


def archive_access_on(
    actor: Actor, archived_on: datetime.date | None, *, basis: str = "", today: datetime.date | None = None
) -> dict[str, str]:
    """`archive_access`'s rule for a record archived on `archived_on` (None: not archived)."""
    if archived_on is None:
        return {}
    today = today or timezone.localdate()
    recorded = {"archived_on": archived_on.isoformat()}
    if basis:
        if basis not in policy.ArchiveAccessBasis.__members__.values():
            raise ValidationError(
                f"{basis!r} is not a ground for opening an archived record: use one of "
                f"{', '.join(policy.ArchiveAccessBasis)}."
            )
        if actor.can(p.VIEW_ARCHIVE_FOR_REVIEW):
            return {**recorded, "archive_access": basis}
    if actor.can(p.VIEW_ARCHIVE_FIRST_YEAR) and _first_year(archived_on, today):
        return {**recorded, "archive_access": "first_year"}
    raise ChildArchived(
        "This record is archived. It can be opened only by a data manager in its first year, or for "
        "an s47 enquiry, a serious case review or a child death review."
    )


def changes_refused_if_archived(child_id: int) -> None:
    """An archived record is closed to changes (involvements, address reports), whoever may open
    it: its practitioners would be told of work nobody can see. A child who comes back to services
    returns through the feeds (and, in the targeted scope, the scope review), which restore the
    record. Refused like an ID never issued, as reading it is."""
    if archived_on_of(child_id) is not None:
        raise ChildArchived("This record is archived: nothing can be recorded on it.")


def archive_hidden_from(actor: Actor, archived_on: datetime.date | None, today: datetime.date) -> bool:
    """Whether a search must leave out a child archived on `archived_on`: always, except for data
    managers during the record's first year (later archive access is by ID, with a ground). The
    search reads the day with its candidates and asks this per candidate."""
    return not (actor.can(p.VIEW_ARCHIVE_FIRST_YEAR) and archived_on and _first_year(archived_on, today))
