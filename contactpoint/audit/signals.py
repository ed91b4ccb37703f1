"""Password sign-ins, failures and sign-outs are audited here; the second factor by its own view."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import EventType, Outcome
from .services import audit_record


def _client(request) -> str:
    if request is None:
        return ""
    return f"{request.META.get('REMOTE_ADDR', '')} {request.META.get('HTTP_USER_AGENT', '')[:150]}".strip()


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    audit_record(
        event_type=EventType.SIGN_IN,
        username=user.get_username(),
        client=_client(request),
        details={"user_id": user.pk, "step": "password"},
    )


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    audit_record(
        event_type=EventType.SIGN_IN_FAILED,
        outcome=Outcome.DENIED,
        username=str(credentials.get("username", ""))[:150],
        client=_client(request),
    )


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(event_type=EventType.SIGN_OUT, username=user.get_username(), client=_client(request))
