"""Session rules every request passes: idle and absolute time-outs, and the second factor."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import user_has_device

from .reauth import confirmation_needed

SIGNED_IN_AT = "cp_signed_in_at"
LAST_SEEN = "cp_last_seen"
LAST_SEEN_RESOLUTION = 30  # seconds: do not write the session on every request


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.setdefault(SIGNED_IN_AT, now)
            last = request.session.get(LAST_SEEN, now)
            idle = now - last > settings.CONTACTPOINT_IDLE_TIMEOUT_SECONDS
            if idle or now - started > settings.SESSION_COOKIE_AGE:
                logout(request)
                messages.info(request, "You were signed out to protect children's data. Sign in again.")
                return redirect(f"{reverse('web:login')}?next={request.path}")
            if now - last >= LAST_SEEN_RESOLUTION or LAST_SEEN not in request.session:
                request.session[LAST_SEEN] = now
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """No page but sign-in itself is served until the session has passed a second factor."""

    OPEN_PREFIXES = ("/sign-in/", "/sign-out/", "/healthz", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(self.OPEN_PREFIXES)
        ):
            target = "access:verify" if user_has_device(user) else "access:set_up"
            return redirect(f"{reverse(target)}?next={request.path}")
        return self.get_response(request)


class AdminReauthMiddleware:
    """Every change made in the Django admin needs a recent second factor, as other sensitive acts do.

    The admin edits reference data (organisations and their accreditation, sources, roles'
    holders), which decides who may use the index: a session left open on a shared desk must
    not be enough. A POST under /admin/ (other than its sign-in and sign-out) from a session
    whose last second factor is older than CONTACTPOINT_REAUTH_SECONDS goes to "Confirm it's
    you" and back to the form, which is then sent again (ADR 0009).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and request.user.is_authenticated:
            admin_root = reverse("admin:index")
            exempt = (reverse("admin:login"), reverse("admin:logout"))
            in_admin = request.path.startswith(admin_root) and not request.path.startswith(exempt)
            if in_admin and (answer := confirmation_needed(request)) is not None:
                return answer
        return self.get_response(request)
