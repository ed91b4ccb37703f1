"""Re-authentication before sensitive acts: break-glass, shielding, managing users, exports.

A session that passed its second factor hours ago may have been left open on a shared desk. These
acts need a second factor passed within CONTACTPOINT_REAUTH_SECONDS; otherwise the user is sent to
"Confirm it's you" (a code or a security key) and then back to where they were going.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from . import mfa


def confirmation_needed(request: HttpRequest) -> HttpResponse | None:
    """A redirect to "Confirm it's you" when the last second factor is too old, else None."""
    if mfa.second_factor_age(request) <= settings.CONTACTPOINT_REAUTH_SECONDS:
        return None
    back = request.path if request.method == "POST" else request.get_full_path()  # a form shows again
    return redirect(f"{reverse('account:confirm')}?{urlencode({'next': back})}")


def recent_second_factor_required(
    view: Callable[..., HttpResponse] | None = None, *, methods: Iterable[str] = ("GET", "POST")
):
    """Decorate a view (optionally only some of its methods) so it needs a fresh second factor."""
    guarded = frozenset(methods)

    def decorate(inner: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(inner)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method in guarded and (answer := confirmation_needed(request)) is not None:
                return answer
            return inner(request, *args, **kwargs)

        return wrapped

    return decorate(view) if view is not None else decorate
