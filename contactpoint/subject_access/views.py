"""Subject access: a management team exports everything held about a child, as a page or JSON."""

import json

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.door import subject_access_for, subject_access_team_required
from contactpoint.access.reauth import recent_second_factor_required
from contactpoint.web.record_views import actor_for, child_or_404, door_view

from .forms import SubjectAccessForm


@door_view
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def subject_access(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    actor = actor_for(request)
    if not actor.can(p.EXPORT_SUBJECT_ACCESS):
        raise PermissionDenied(f"The {actor.role} role cannot answer subject access requests.")
    child = child_or_404(contactpoint_id)
    if request.method == "GET":  # the form is for the responsible authority's team only (the door asks again)
        subject_access_team_required(actor, child)
    form = SubjectAccessForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        output = form.cleaned_data["output"]
        everything = subject_access_for(actor, child, reason=form.cleaned_data["reference"], output=output)
        if output == "json":
            response = HttpResponse(
                json.dumps(everything, indent=2, ensure_ascii=False), content_type="application/json"
            )
            response["Content-Disposition"] = (
                f'attachment; filename="subject-access-{child.contactpoint_id}.json"'
            )
            return response
        return render(request, "subject_access/export.html", {"export": everything})
    return render(
        request, "subject_access/request.html", {"form": form, "contactpoint_id": child.contactpoint_id}
    )
