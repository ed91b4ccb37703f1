"""The user's notifications and their choices; the authority team's emergency-setting lookups.

Notifications show an event's kind, when, and the ContactPoint IDs it concerns: the record itself
opens through the usual reason step. What each user was told was decided, through the door,
when the event was fanned out to them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from contactpoint.access import permissions as p
from contactpoint.notifications.models import EventKind, Preference
from contactpoint.notifications.selectors import area_emergency_lookups, inbox_for
from contactpoint.notifications.services import notifications_mark_read, preference_save

from .forms import NotificationPreferenceForm
from .record_views import actor_for

SHOWN = 50


@login_required
@never_cache
@require_GET
def notifications(request: HttpRequest) -> HttpResponse:
    """The latest notifications, new ones marked; seeing them here marks them read."""
    actor = actor_for(request)
    shown = list(inbox_for(user_id=actor.user_id)[:SHOWN])
    rows = [{"delivery": d, "label": EventKind(d.event.kind).label, "new": d.read_at is None} for d in shown]
    notifications_mark_read(user_id=actor.user_id, delivery_ids=[d.pk for d in shown])
    preference = Preference.objects.filter(user_id=actor.user_id).first()
    return render(
        request,
        "web/notifications.html",
        {"rows": rows, "preference": preference, "new": sum(r["new"] for r in rows)},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    preference = Preference.objects.filter(user_id=actor.user_id).first()
    initial = {
        "involved_children": preference.involved_children if preference else False,
        "email": preference.email if preference else True,
    }
    form = NotificationPreferenceForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        preference_save(
            user_id=actor.user_id,
            involved_children=form.cleaned_data["involved_children"],
            email=form.cleaned_data["email"],
        )
        messages.success(request, "Your notification choices are saved.")
        return redirect("web:notifications")
    return render(request, "web/notification_settings.html", {"form": form})


@login_required
@require_GET
def emergency_lookups(request: HttpRequest) -> HttpResponse:
    """The team's view: its area's children seen by emergency settings, each with its latest 25."""
    actor = actor_for(request)
    if not actor.can(p.MANAGE_SHIELDING):
        raise PermissionDenied("Only a local authority's ContactPoint team sees emergency lookups.")
    return render(request, "web/emergency_lookups.html", {"children": area_emergency_lookups(actor=actor)})
