"""The authority team's accounts: list with vetting state, create, record vetting, suspend/reinstate.

The pages show the team's own area's accounts only (`users_for_team`), and never a child's data.
Every change goes through an access service that checks the area again and audits it; creating
an account, recording vetting and suspending or reinstating need a recent second factor (ADR 0009).
"""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.models import Profile
from contactpoint.access.reauth import recent_second_factor_required
from contactpoint.access.selectors import VettingState, users_for_team, vetting_counts, vetting_state
from contactpoint.access.services import team_user_create, user_reinstate, user_suspend, vetting_record

from .record_views import actor_for
from .user_forms import ROLE_CHOICES, ROLE_HINTS, AccountStatusForm, UserCreateForm, VettingForm

PAGE_SIZE = 50
STATE_TAGS = {
    VettingState.CURRENT: "govuk-tag--green",
    VettingState.LAPSING: "govuk-tag--yellow",
    VettingState.LAPSED: "govuk-tag--red",
    VettingState.SUSPENDED: "govuk-tag--grey",
}


def _team(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    if not actor.can(p.MANAGE_USERS):
        raise PermissionDenied("Only a local authority's ContactPoint team manages accounts.")
    return actor


def _profile_or_404(actor: Actor, user_id: int) -> Profile:
    profile = users_for_team(actor=actor).filter(user_id=user_id).first()
    if profile is None:  # another area's accounts are not even listed
        raise Http404("Your area has no account with that number.")
    return profile


def _state(profile: Profile, today: datetime.date) -> dict[str, str]:
    state = vetting_state(profile, today=today)
    return {"code": state, "text": VettingState.LABELS[state], "classes": STATE_TAGS[state]}


@login_required
@require_GET
def users(request: HttpRequest) -> HttpResponse:
    """The area's accounts, filtered by vetting state so lapsed and soon-lapsing ones stand out."""
    actor = _team(request)
    today = datetime.date.today()
    state = request.GET.get("vetting", "")
    state = state if state in VettingState.LABELS else ""
    page = Paginator(users_for_team(actor=actor, state=state, today=today), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "rows": [(profile, _state(profile, today)) for profile in page],
        "state": state,
        "states": VettingState.LABELS,
        "counts": vetting_counts(actor=actor, today=today),
        "area": actor.local_authority,
    }
    return render(request, "web/users.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    """A question page; the answer creates the account and shows its first password once."""
    actor = _team(request)
    form = UserCreateForm(
        request.POST if request.method == "POST" else None,
        initial={"organisation_code": actor.local_authority.code},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, password = team_user_create(
                actor=actor,
                username=data["username"],
                role_code=data["role"],
                organisation_code=data["organisation_code"],
                family_name=data["family_name"],
                email=data["email"],
            )
        except ValidationError as problem:
            message = problem.messages[0]
            form.add_error("organisation_code" if "organisation" in message else "username", message)
        else:
            return render(request, "web/user_created.html", {"created": user, "password": password})
    role_items = [
        {"value": code, "text": text, "hint": {"text": ROLE_HINTS[code]}} for code, text in ROLE_CHOICES
    ]
    context = {"form": form, "role_items": role_items, "area": actor.local_authority}
    return render(request, "web/user_new.html", context)


@login_required
@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _team(request)
    profile = _profile_or_404(actor, pk)
    today = datetime.date.today()
    context = {
        "profile": profile,
        "state": _state(profile, today),
        "problems": profile.vetting_problems(today),
        "is_self": profile.user_id == actor.user_id,
    }
    return render(request, "web/user_detail.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def user_vetting(request: HttpRequest, pk: int) -> HttpResponse:
    """Record or renew vetting: the three dates, each checked by the access service."""
    actor = _team(request)
    profile = _profile_or_404(actor, pk)
    if request.method == "POST":
        form = VettingForm(request.POST)
    else:
        form = VettingForm(initial=VettingForm.initial_from(profile))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            vetting_record(
                user_id=profile.user_id,
                actor=actor,
                dbs_checked_on=data["dbs_checked_on"],
                training_completed_on=data["training_completed_on"],
                agreement_signed_on=data["agreement_signed_on"],
            )
        except ValidationError as problem:
            form.add_error("dbs_day", problem.messages[0])
        else:
            messages.success(request, f"Vetting recorded for {profile.user.get_username()}.")
            return redirect("web:user", profile.user_id)
    return render(request, "web/user_vetting.html", {"form": form, "profile": profile})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def user_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Suspend an active account or reinstate a suspended one, with the reason."""
    actor = _team(request)
    profile = _profile_or_404(actor, pk)
    suspended = profile.suspended_at is not None
    if profile.user_id == actor.user_id and not suspended:
        raise PermissionDenied("You cannot suspend your own account; ask a colleague in your team.")
    form = AccountStatusForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        change = user_reinstate if suspended else user_suspend
        try:
            change(user_id=profile.user_id, actor=actor, reason=form.cleaned_data["reason"])
        except ValidationError as problem:
            form.add_error("reason", problem.messages[0])
        else:
            done = "reinstated" if suspended else "suspended"
            messages.success(request, f"{profile.user.get_username()}'s account is {done}.")
            return redirect("web:user", profile.user_id)
    return render(request, "web/user_status.html", {"form": form, "profile": profile, "suspended": suspended})
