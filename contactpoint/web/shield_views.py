"""Shields for an authority's team: shield a child, and review shields (renew with a new review
date, or end).

The pages show a shield's ContactPoint ID, reason and dates, never the child's details: the team
opens the record itself through the usual reason step when it needs to.
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.reauth import recent_second_factor_required
from contactpoint.access.selectors import shields_for_team
from contactpoint.access.services import SHIELD_REVIEW_INTERVAL, shield_add, shield_end, shield_renew
from contactpoint.records.selectors import child_by_contactpoint_id

from .forms import ShieldAddForm, ShieldReviewForm
from .record_views import actor_for


@login_required
@require_GET
def shields(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request)
    if not actor.can(p.MANAGE_SHIELDING):
        raise PermissionDenied("Only a local authority's ContactPoint team manages shields.")
    today = datetime.date.today()
    context = {"shields": shields_for_team(actor=actor), "today": today}
    return render(request, "web/shields.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def shield_review(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_for(request)
    if not actor.can(p.MANAGE_SHIELDING):
        raise PermissionDenied("Only a local authority's ContactPoint team manages shields.")
    shield = shields_for_team(actor=actor).filter(pk=pk).first()
    if shield is None:  # another authority's shields are not even listed
        raise Http404("Your authority has no active shield with that number.")
    form = ShieldReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        child_id = shield.child.contactpoint_id
        try:
            if data["decision"] == "renew":
                shield_renew(shield=shield, actor=actor, review_due=data["review_due"])
                messages.success(
                    request, f"The shield on {child_id} stays; next review {shield.review_due:%d %B %Y}."
                )
            else:
                shield_end(shield=shield, actor=actor, reason=data["end_reason"])
                messages.success(request, f"The shield on {child_id} has ended.")
        except ValidationError as problem:
            form.add_error("next_day" if data["decision"] == "renew" else "end_reason", problem.messages[0])
        else:
            return redirect("web:shields")
    default_due = datetime.date.today() + SHIELD_REVIEW_INTERVAL
    return render(
        request, "web/shield_review.html", {"form": form, "shield": shield, "default_due": default_due}
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def shield_new(request: HttpRequest) -> HttpResponse:
    """Shield a child by ContactPoint ID with a reason; the access service checks and audits it."""
    actor = actor_for(request)
    if not actor.can(p.MANAGE_SHIELDING):
        raise PermissionDenied("Only a local authority's ContactPoint team manages shields.")
    form = ShieldAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        child = child_by_contactpoint_id(contactpoint_id=data["contactpoint_id"])
        if child is None:
            form.add_error("contactpoint_id", "No child has that ContactPoint ID: check it on the record")
        else:
            try:
                shield = shield_add(child=child, actor=actor, reason=data["reason"])
            except (ValidationError, PermissionDenied) as refusal:
                message = refusal.messages[0] if isinstance(refusal, ValidationError) else str(refusal)
                form.add_error("contactpoint_id", message)
            else:
                messages.success(
                    request,
                    f"{child.contactpoint_id} is shielded by {shield.local_authority.name}; "
                    f"review due {shield.review_due:%d %B %Y}.",
                )
                return redirect("web:shields")
    return render(request, "web/shield_new.html", {"form": form})
