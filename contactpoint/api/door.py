"""How API views reach a child: the access-reason header, the 403 / 404 rule, and the door itself.

The 403 / 404 rule (ADR 0006): 403 only for refusals that do not depend on which child was asked
for (the caller's role may never see records); every refusal that depends on the child answers
404, exactly like an ID that was never issued, so a response never confirms that a child the
caller may not see exists. A shielded child is not such a refusal: the spec lets every user see
its name, gender, date of birth, ID and carers' names, so it answers 200 with `restricted: true`.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework import exceptions
from rest_framework.request import Request

from contactpoint.access.actors import Actor
from contactpoint.access.door import CAN_VIEW, ChildRecordView, child_record_for
from contactpoint.audit.models import EventType, Outcome
from contactpoint.audit.services import audit_record
from contactpoint.records.models import Child
from contactpoint.records.selectors import child_by_contactpoint_id
from contactpoint.records.services import contactpoint_id_is_valid
from contactpoint.retention.selectors import ChildArchived

from .authentication import ApiCredentials
from .problems import NO_SUCH_CHILD, MissingReason

REASON_HEADER = "X-Access-Reason"
ARCHIVE_BASIS_HEADER = "X-Archive-Basis"  # s47_enquiry, serious_case_review or child_death_review
REASON_MAX_LENGTH = 500


def actor_of(request: Request) -> Actor:
    credentials = request.auth
    assert isinstance(credentials, ApiCredentials)  # every view here requires a token
    return credentials.actor


def client_of(request: Request) -> str:
    """What the audit log records as the client: the token's recognisable prefix, never the token."""
    credentials = request.auth
    return f"api token {credentials.prefix}" if isinstance(credentials, ApiCredentials) else ""


def access_reason(request: Request) -> str:
    reason = request.headers.get(REASON_HEADER, "").strip()
    if not reason:
        raise MissingReason()
    if len(reason) > REASON_MAX_LENGTH:
        raise MissingReason(f"Keep the {REASON_HEADER} header to {REASON_MAX_LENGTH} characters.")
    return reason


def refuse_role(
    actor: Actor, contactpoint_id: str, message: str, *, event_type: EventType = EventType.VIEW
) -> exceptions.PermissionDenied:
    """A refusal that holds for every child: audited, then 403."""
    audit_record(
        event_type=event_type,
        outcome=Outcome.DENIED,
        actor=actor,
        details={"refused": message, "requested": contactpoint_id[:20]},
    )
    return exceptions.PermissionDenied(message)


def child_or_404(contactpoint_id: str) -> Child:
    child = (
        child_by_contactpoint_id(contactpoint_id=contactpoint_id)
        if contactpoint_id_is_valid(contactpoint_id)
        else None
    )
    if child is None:
        raise exceptions.NotFound(NO_SUCH_CHILD)
    return child


def record_for(request: Request, contactpoint_id: str) -> tuple[Child, ChildRecordView]:
    """The record through the one door, after the checks in the order the 403 / 404 rule needs."""
    actor = actor_of(request)
    if not CAN_VIEW.allows(actor):
        raise refuse_role(actor, contactpoint_id, f"The {actor.role} role cannot see children's records.")
    reason = access_reason(request)
    child = child_or_404(contactpoint_id)
    try:
        # An archived record after its first year opens only on a recorded ground (docs/retention.md).
        basis = request.headers.get(ARCHIVE_BASIS_HEADER, "")[:40]
        return child, child_record_for(actor, child, reason=reason, archive_basis=basis)
    except ChildArchived as exc:  # depends on the child: answered like an ID never issued
        raise exceptions.NotFound(NO_SUCH_CHILD) from exc
    except PermissionDenied as exc:
        raise exceptions.PermissionDenied(str(exc)) from exc
    except ValidationError as exc:
        raise MissingReason(" ".join(exc.messages)) from exc
