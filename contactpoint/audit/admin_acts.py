"""Changes made in the Django admin go into the audit log, in the transaction that makes them.

The admin edits what decides who may use the index (accounts, profiles and their roles,
organisations and their accreditation, sources), so domain.md section 6 wants each act with its
actor and client like any other. Django keeps its own `LogEntry` table, but that table is
editable and unchained. Every admin path (add, change, delete one, delete selected) writes its
LogEntry rows through `LogEntryManager.log_actions`, so wrapping that one method reaches them all,
including third-party admins (users, second-factor devices, lockouts) that this project does not
subclass. The event holds model, primary keys, action and the field names Django lists as changed:
never the object's text, which for a practitioner or an account is a person's name.
"""

import contextvars
import functools
from collections.abc import Callable
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntryManager
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from .models import EventType

ACTIONS = {ADDITION: "admin_add", CHANGE: "admin_change", DELETION: "admin_delete"}
# Models whose change is a change of who may do what: reported with role and vetting changes.
ACCESS_MODELS = frozenset({"auth.user", "auth.group", "access.profile", "access.role"})

_client: contextvars.ContextVar[str] = contextvars.ContextVar("admin_client", default="")


class AdminClientMiddleware:
    """Keeps the admin request's address and agent for the event: `log_actions` is not given the request."""

    def __init__(self, get_response: Callable[[Any], Any]):
        self.get_response = get_response

    def __call__(self, request):
        meta = request.META
        token = _client.set(f"{meta.get('REMOTE_ADDR', '')} {meta.get('HTTP_USER_AGENT', '')[:150]}".strip())
        try:
            return self.get_response(request)
        finally:
            _client.reset(token)


def admin_act_record(*, user_id: int, objects: list[Any], action_flag: int, change_message: Any) -> None:
    """One event per admin act, naming every object it touched by primary key."""
    from .services import audit_record

    if not objects:
        return
    label = objects[0]._meta.label_lower
    audit_record(
        event_type=EventType.ROLE_OR_VETTING if label in ACCESS_MODELS else EventType.ADMIN,
        client=_client.get(),
        details={
            "action": ACTIONS.get(action_flag, f"admin_{action_flag}"),
            "model": label,
            "objects": [str(obj.pk) for obj in objects],
            "changed_fields": _changed_fields(change_message),
        },
        **_acting(user_id),
    )


def _acting(user_id: int) -> dict[str, Any]:
    """The actor as everywhere else when the account can use the index; else its username (a
    superuser without a profile still leaves its name in the log)."""
    from contactpoint.access.actors import Actor

    user = get_user_model().objects.get(pk=user_id)
    try:
        return {"actor": Actor.for_user(user)}
    except PermissionDenied:
        return {"username": user.get_username()}


def _changed_fields(change_message: Any) -> list[str]:
    """Field names from Django's structured message ([{"changed": {"fields": [...]}}]), nothing else."""
    if not isinstance(change_message, list):
        return []
    return sorted(
        {str(field) for part in change_message for field in part.get("changed", {}).get("fields", [])}
    )


def install() -> None:
    """Wrap `log_actions` once (app registry ready); the LogEntry rows are still written as before."""
    original = LogEntryManager.log_actions
    if getattr(original, "audited", False):
        return

    @functools.wraps(original)
    def log_actions(self, user_id, queryset, action_flag, change_message="", *, single_object=False):
        objects = list(queryset)
        admin_act_record(
            user_id=user_id, objects=objects, action_flag=action_flag, change_message=change_message
        )
        return original(self, user_id, objects, action_flag, change_message, single_object=single_object)

    log_actions.audited = True  # type: ignore[attr-defined]
    LogEntryManager.log_actions = log_actions  # type: ignore[method-assign]
