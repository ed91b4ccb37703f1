"""The practitioner's journey to a child's record: reason for access, the record, break-glass.

Every record page is the answer to a POST that carried a reason: the door is asked afresh, and
audits, each time. Nothing about the record, the reason or a break-glass is kept in the session,
so an override lasts exactly as long as the page that shows it (ADR 0007).
"""

from collections.abc import Callable
from typing import cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.door import ContactView, child_record_for
from contactpoint.access.policies import responsible_for_child
from contactpoint.access.reauth import recent_second_factor_required
from contactpoint.records.selectors import child_by_contactpoint_id, own_involvement

from .forms import BreakGlassForm, ReasonForm


def actor_for(request: HttpRequest) -> Actor:
    """The signed-in user as an Actor: refuses (403) accounts without a profile or current vetting."""
    return Actor.for_user(cast(AbstractBaseUser, request.user))


def door_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Marks a view as reaching child data only through the access door (see test_one_door)."""
    view.uses_child_door = True  # type: ignore[attr-defined]
    return view


def child_or_404(contactpoint_id: str):
    child = child_by_contactpoint_id(contactpoint_id=contactpoint_id)
    if child is None:
        raise Http404("No child has that ContactPoint ID.")
    return child


def _record_page(
    request: HttpRequest, actor: Actor, child, *, reason: str, break_glass: bool
) -> HttpResponse:
    record = child_record_for(actor, child, reason=reason, break_glass=break_glass)
    context = {
        "record": record,
        "reason": reason,
        "break_glass": break_glass,
        "may_break_glass": record.restricted and actor.can(p.BREAK_GLASS),
        "team": _team_contact(actor),
        "may_record": actor.can(p.RECORD_INVOLVEMENT) and not record.restricted,
        "own": own_involvement(actor=actor, child=child) if actor.can(p.RECORD_INVOLVEMENT) else None,
        "record_keeping": actor.can(p.RECORD_RETENTION) and responsible_for_child(actor, child),
    }
    return render(request, "web/child_record.html", context)


def _team_contact(actor: Actor) -> ContactView:
    """Where a shielded record sends people: their own authority's ContactPoint team."""
    team = actor.local_authority
    address = ", ".join(part for part in (team.address_line_1, team.town, team.postcode) if part)
    return ContactView(team.name, team.phone, team.email, address)


@door_view
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def child_open(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """Asks why before any record opens; the answer opens it and goes to the audit log."""
    actor = actor_for(request)
    child = child_or_404(contactpoint_id)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        return _record_page(request, actor, child, reason=form.reason_text(), break_glass=False)
    return render(request, "web/reason.html", {"form": form, "contactpoint_id": child.contactpoint_id})


@door_view
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required
def child_break_glass(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """Overriding a shield: a warning, a reason and a confirmation, then one view of the record."""
    actor = actor_for(request)
    if not actor.can(p.BREAK_GLASS):
        raise PermissionDenied("Your role cannot override a shield.")
    child = child_or_404(contactpoint_id)
    form = BreakGlassForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        return _record_page(request, actor, child, reason=form.reason_text(), break_glass=True)
    return render(request, "web/break_glass.html", {"form": form, "contactpoint_id": child.contactpoint_id})
