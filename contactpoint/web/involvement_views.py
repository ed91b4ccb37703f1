"""A practitioner records, changes or ends their own involvement with a child.

Question page, then "check your answers", then a confirmation: the GOV.UK pattern. The answers
wait in the session between the question and the check (they are the user's own words, not the
child's record); nothing is saved until the user confirms.

The version of the involvement the user started from travels in the forms (a hidden field, per
tab), so a change made meanwhile, in another tab or by a case-management system through the API,
is reported instead of overwritten (ADR 0014).
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
from contactpoint.records.models import Child
from contactpoint.records.selectors import OwnInvolvement, own_involvement
from contactpoint.records.services import (
    ChangeConflict,
    InvolvementAnswers,
    StaleChange,
    involvement_dates_check,
    own_involvement_record,
)
from contactpoint.retention.selectors import changes_refused_if_archived

from .forms import RECORDABLE_SERVICES, EndInvolvementForm, InvolvementForm
from .record_views import actor_for, child_or_404

PENDING = "cp_pending_involvement:{}"
PENDING_END = "cp_pending_involvement_end:{}"
CHANGED_MEANWHILE = (
    "This involvement changed since you started (in another tab, or through your case-management "
    "system). Nothing was overwritten: check it as it is now and make your change again."
)


def _recorder(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    if not actor.can(p.RECORD_INVOLVEMENT):
        raise PermissionDenied("Your role cannot record involvements.")
    return actor


def _open_child(contactpoint_id: str) -> Child:
    """The child, when its record is open to changes (an archived one is not: 403, as its record)."""
    child = child_or_404(contactpoint_id)
    changes_refused_if_archived(child.pk)
    return child


def _pending(request: HttpRequest, contactpoint_id: str) -> tuple[InvolvementAnswers, str] | None:
    stored: dict[str, Any] | None = request.session.get(PENDING.format(contactpoint_id))
    if not stored:
        return None
    fields = {k: v for k, v in stored.items() if k != "version"}
    answers = InvolvementAnswers(
        **{**fields, "start_date": datetime.date.fromisoformat(fields["start_date"])}
    )
    return answers, str(stored.get("version", ""))


def _keep(request: HttpRequest, contactpoint_id: str, answers: InvolvementAnswers, version: str) -> None:
    request.session[PENDING.format(contactpoint_id)] = {
        **asdict(answers),
        "start_date": answers.start_date.isoformat(),
        "version": version,
    }


def _version(own: OwnInvolvement | None) -> str:
    return own.version if own is not None else ""


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_edit(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = _open_child(contactpoint_id)
    if request.method == "POST":
        form = InvolvementForm(request.POST)
        # The version the question page was shown with; a form posted without it starts from now.
        version = request.POST.get("version", _version(own_involvement(actor=actor, child=child)))
        if form.is_valid():
            _keep(request, child.contactpoint_id, form.answers(), version)
            return redirect("web:involvement_check", child.contactpoint_id)
    else:
        pending = _pending(request, child.contactpoint_id)
        own = own_involvement(actor=actor, child=child)
        earlier = pending[0] if pending else own
        version = pending[1] if pending else _version(own)
        form = InvolvementForm(initial=InvolvementForm.initial_from(earlier) if earlier else None)
    return render(
        request,
        "web/involvement_edit.html",
        {
            "form": form,
            "version": version,
            "contactpoint_id": child.contactpoint_id,
            "service_items": [{"value": value, "text": text} for value, text in RECORDABLE_SERVICES],
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_check(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = _open_child(contactpoint_id)
    pending = _pending(request, child.contactpoint_id)
    if pending is None:
        return redirect("web:involvement_edit", child.contactpoint_id)
    answers, version = pending
    problem = ""
    if request.method == "POST":
        try:
            own_involvement_record(
                actor=actor,
                child=child,
                changes=answers.as_changes(),
                expected_version=request.POST.get("version", version),
            )
        except StaleChange:
            del request.session[PENDING.format(child.contactpoint_id)]  # start again from what is there
            problem = CHANGED_MEANWHILE
        except (ValidationError, ChangeConflict) as refusal:
            problem = _text(refusal)
        else:
            del request.session[PENDING.format(child.contactpoint_id)]
            return render(
                request,
                "web/involvement_done.html",
                {"contactpoint_id": child.contactpoint_id, "title": "Your involvement is recorded"},
            )
    context = {
        "answers": answers,
        "version": version,
        "contactpoint_id": child.contactpoint_id,
        "services": dict(RECORDABLE_SERVICES),
        "problem": problem,
        "stale": problem == CHANGED_MEANWHILE,
    }
    return render(request, "web/involvement_check.html", context)


def _text(refusal: Exception) -> str:
    return " ".join(refusal.messages) if isinstance(refusal, ValidationError) else str(refusal)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_end(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = _open_child(contactpoint_id)
    own = own_involvement(actor=actor, child=child)
    if own is None or own.end_date is not None:
        raise Http404("You have no current involvement with this child.")
    form = EndInvolvementForm(request.POST if request.method == "POST" else None)
    version = request.POST.get("version", own.version) if request.method == "POST" else own.version
    if request.method == "POST" and form.is_valid():
        end_date: datetime.date = form.cleaned_data["end_date"]
        try:
            involvement_dates_check(own.start_date, end_date)
        except ValidationError as refusal:
            form.add_error("end_day", _text(refusal))
        else:
            pending = {"end_date": end_date.isoformat(), "version": version}
            request.session[PENDING_END.format(child.contactpoint_id)] = pending
            return redirect("web:involvement_end_check", child.contactpoint_id)
    return render(
        request,
        "web/involvement_end.html",
        {"form": form, "contactpoint_id": child.contactpoint_id, "own": own, "version": version},
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def involvement_end_check(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = _recorder(request)
    child = _open_child(contactpoint_id)
    stored = request.session.get(PENDING_END.format(child.contactpoint_id))
    own: OwnInvolvement | None = own_involvement(actor=actor, child=child)
    if not isinstance(stored, dict) or own is None:
        return redirect("web:involvement_end", child.contactpoint_id)
    end_date = datetime.date.fromisoformat(stored["end_date"])
    problem = ""
    if request.method == "POST":
        try:
            own_involvement_record(
                actor=actor,
                child=child,
                changes={"end_date": end_date},
                expected_version=request.POST.get("version", stored["version"]),
            )
        except StaleChange:
            problem = CHANGED_MEANWHILE
        except (ValidationError, ChangeConflict) as refusal:
            problem = _text(refusal)
        else:
            return _ended(request, child.contactpoint_id)
        del request.session[PENDING_END.format(child.contactpoint_id)]
    context = {"own": own, "end_date": end_date, "contactpoint_id": child.contactpoint_id}
    return render(
        request,
        "web/involvement_end_check.html",
        {**context, "version": stored["version"], "problem": problem, "services": dict(RECORDABLE_SERVICES)},
    )


def _ended(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    del request.session[PENDING_END.format(contactpoint_id)]
    return render(
        request,
        "web/involvement_done.html",
        {"contactpoint_id": contactpoint_id, "title": "Your involvement has ended"},
    )
