"""A practitioner records, changes or ends their own involvement with a child.

Question page, then "check your answers", then a confirmation: the GOV.UK pattern. The answers
wait in the session between the question and the check (they are the user's own words, not the
child's record); nothing is saved until the user confirms.
"""

import datetime
from dataclasses import asdict
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.records.selectors import OwnInvolvement, own_involvement
from contactpoint.records.services import InvolvementAnswers, own_involvement_end, own_involvement_save

from .forms import RECORDABLE_SERVICES, EndInvolvementForm, InvolvementForm
from .record_views import actor_for, child_or_404

PENDING = "cp_pending_involvement:{}"
PENDING_END = "cp_pending_involvement_end:{}"


def _recorder(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    if not actor.can(p.RECORD_INVOLVEMENT):
        raise PermissionDenied("Your role cannot record involvements.")
    return actor


def _pending(request: HttpRequest, contactpoint_id: str) -> InvolvementAnswers | None:
    stored: dict[str, Any] | None = request.session.get(PENDING.format(contactpoint_id))
    if not stored:
        return None
    return InvolvementAnswers(**{**stored, "start_date": datetime.date.fromisoformat(stored["start_date"])})


def _keep(request: HttpRequest, contactpoint_id: str, answers: InvolvementAnswers) -> None:
    request.session[PENDING.format(contactpoint_id)] = {
        **asdict(answers),
        "start_date": answers.start_date.isoformat(),
    }


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_edit(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = child_or_404(contactpoint_id)
    if request.method == "POST":
        form = InvolvementForm(request.POST)
        if form.is_valid():
            _keep(request, child.contactpoint_id, form.answers())
            return redirect("web:involvement_check", child.contactpoint_id)
    else:
        earlier = _pending(request, child.contactpoint_id) or own_involvement(actor=actor, child=child)
        form = InvolvementForm(initial=InvolvementForm.initial_from(earlier) if earlier else None)
    return render(
        request,
        "web/involvement_edit.html",
        {
            "form": form,
            "contactpoint_id": child.contactpoint_id,
            "service_items": [{"value": value, "text": text} for value, text in RECORDABLE_SERVICES],
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_check(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = child_or_404(contactpoint_id)
    answers = _pending(request, child.contactpoint_id)
    if answers is None:
        return redirect("web:involvement_edit", child.contactpoint_id)
    problem = ""
    if request.method == "POST":
        try:
            own_involvement_save(actor=actor, child=child, answers=answers)
        except ValidationError as refusal:
            problem = " ".join(refusal.messages)
        else:
            del request.session[PENDING.format(child.contactpoint_id)]
            return render(
                request,
                "web/involvement_done.html",
                {"contactpoint_id": child.contactpoint_id, "title": "Your involvement is recorded"},
            )
    context = {
        "answers": answers,
        "contactpoint_id": child.contactpoint_id,
        "services": dict(RECORDABLE_SERVICES),
        "problem": problem,
    }
    return render(request, "web/involvement_check.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_end(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = child_or_404(contactpoint_id)
    own = own_involvement(actor=actor, child=child)
    if own is None or own.end_date is not None:
        raise Http404("You have no current involvement with this child.")
    form = EndInvolvementForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        end_date: datetime.date = form.cleaned_data["end_date"]
        if own.start_date and end_date < own.start_date:
            form.add_error("end_day", f"End date must be on or after your start date, {_day(own.start_date)}")
        else:
            request.session[PENDING_END.format(child.contactpoint_id)] = end_date.isoformat()
            return redirect("web:involvement_end_check", child.contactpoint_id)
    return render(
        request,
        "web/involvement_end.html",
        {"form": form, "contactpoint_id": child.contactpoint_id, "own": own},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_end_check(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = child_or_404(contactpoint_id)
    stored = request.session.get(PENDING_END.format(child.contactpoint_id))
    own: OwnInvolvement | None = own_involvement(actor=actor, child=child)
    if not stored or own is None:
        return redirect("web:involvement_end", child.contactpoint_id)
    end_date = datetime.date.fromisoformat(stored)
    if request.method == "POST":
        own_involvement_end(actor=actor, child=child, end_date=end_date)
        del request.session[PENDING_END.format(child.contactpoint_id)]
        return render(
            request,
            "web/involvement_done.html",
            {"contactpoint_id": child.contactpoint_id, "title": "Your involvement has ended"},
        )
    context = {"own": own, "end_date": end_date, "contactpoint_id": child.contactpoint_id}
    return render(
        request, "web/involvement_end_check.html", {**context, "services": dict(RECORDABLE_SERVICES)}
    )


def _day(value: datetime.date) -> str:
    return f"{value.day} {value:%B %Y}"
