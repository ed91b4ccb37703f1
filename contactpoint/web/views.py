import logging

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.models import Profile
from contactpoint.audit.selectors import activity_recent
from contactpoint.records import selectors
from contactpoint.search import selectors as search_service

from .forms import SearchForm
from .record_views import actor_for, door_view

logger = logging.getLogger(__name__)


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Load balancers need a cheap answer that is false when the database is unreachable."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: database unreachable")
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Index-wide counts only: no child's data is shown without the access-checked door."""
    profile = (
        Profile.objects.select_related("role", "organisation").filter(user_id=request.user.pk or 0).first()
    )
    context = {
        "stats": selectors.index_statistics(),
        "profile": profile,
        "can_search": bool(profile and p.SEARCH_CHILDREN in profile.role.permissions),
    }
    return render(request, "web/home.html", context)


@door_view  # results come from the search service, which applies shielding and audits each search
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """A question page; the answer is a POST so that names and dates stay out of URLs and logs."""
    actor = actor_for(request)
    if not actor.can(p.SEARCH_CHILDREN):
        raise PermissionDenied("Your role cannot search for children.")
    form = SearchForm(request.POST if request.method == "POST" else None)
    result = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        criteria = search_service.SearchCriteria(
            given_name=data["given_name"],
            family_name=data["family_name"],
            date_of_birth=data["date_of_birth"],
            gender=data["gender"],
            postcode=data["postcode"],
            nhs_number=data["nhs_number"],
            upn=data["upn"],
            contactpoint_id=data["contactpoint_id"],
            exact=data["exact"],
        )
        try:
            result = search_service.children_search(
                actor=actor, criteria=criteria, client=request.META.get("REMOTE_ADDR", "")
            )
        except search_service.CriteriaTooWeak as too_weak:  # its message says what to add
            form.add_error(None, too_weak)
    context = {"form": form, "result": result}
    return render(request, "web/search.html", context)


@login_required
def activity(request: HttpRequest) -> HttpResponse:
    """The user's own trail from the audit log: ids and reasons, never a child's details."""
    events = activity_recent(user_id=request.user.pk or 0, username=request.user.get_username())
    return render(request, "web/activity.html", {"events": events})
