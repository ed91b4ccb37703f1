"""Rectification: recording a correction someone asked for, and the notice owed to its source."""

from django.core.exceptions import ValidationError
from django.db import transaction

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.door import responsible_team_required
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records.models import Child, Source
from contactpoint.records.statutory import reject_non_statutory

from .collect import assertion_value
from .models import Rectification, SourceNotification


def rectification_record(
    *,
    actor: Actor,
    child: Child,
    item: str,
    field: str,
    source_code: str,
    source_record_id: str,
    corrected_value: str,
    requested_by: str,
) -> Rectification:
    """Record that `requested_by` says one source's value is wrong, and owe the source a notice.

    Only the team of the authority responsible for the child records one (PermissionDenied,
    audited, otherwise). Raises ValidationError, saying what to fix, when the correction names no
    live value of a statutory item, repeats the current value, or does not say who asked; nothing
    is written then.
    """
    responsible_team_required(
        actor,
        child,
        permission=p.EXPORT_SUBJECT_ACCESS,
        event_type=EventType.CHANGE,
        doing="record corrections for it",
    )
    if not requested_by.strip():
        raise ValidationError("Say who asked for the correction.")
    try:
        reject_non_statutory(item, {field: corrected_value})
    except ValueError as wrong:
        raise ValidationError(str(wrong)) from None
    current = assertion_value(
        child=child, item=item, field=field, source_code=source_code, source_record_id=source_record_id
    )
    if current is None:
        raise ValidationError(
            f"{source_code} asserts no current {item}.{field} under record {source_record_id} for this child."
        )
    if current == corrected_value.strip():
        raise ValidationError("The corrected value is the value already held.")
    source = Source.objects.get(code=source_code)
    with transaction.atomic():
        rectification = Rectification.objects.create(
            child=child,
            source=source,
            source_record_id=source_record_id,
            item=item,
            field=field,
            current_value=current[:200],
            corrected_value=corrected_value.strip()[:200],
            requested_by=requested_by.strip()[:200],
            recorded_by_id=actor.user_id,
        )
        SourceNotification.objects.create(source=source, rectification=rectification)
        audit_record(
            event_type=EventType.CHANGE,
            actor=actor,
            child_ids=[child.contactpoint_id],
            reason="Rectification requested",
            details={"rectification": rectification.pk, "item": item, "field": field, "source": source_code},
        )
    return rectification
