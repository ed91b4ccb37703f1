"""The management team's linkage pages: the review queue, one pair, recent merges, data quality.

A pair's source records reach these pages only through `linkage.selectors.review_pair_for`,
which checks the reviewer's permission and area and audits each showing as a view of both
children. A decision is a question page, then "check your answers", then the linkage service,
which audits it; the pending answer waits in the session (it is the reviewer's, not a child's).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.reauth import recent_second_factor_required
from contactpoint.linkage import selectors as linkage
from contactpoint.linkage.models import ReviewItem, ReviewStatus
from contactpoint.linkage.services import merge_undo, review_decide

from .forms import DECISIONS, MergeUndoForm, ReviewDecisionForm
from .record_views import actor_for, door_view

PAGE_SIZE = 25
# The model's comparisons as a reviewer reads them; any other is shown with `label`.
COMPARISON_NAMES = {"nhs_number": "NHS number", "upn": "Unique pupil number (UPN)", "location": "Address"}
PENDING = "cp_pending_review:{}"


def _reviewer(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    if not actor.can(p.REVIEW_LINKAGE):
        raise PermissionDenied("Your role cannot review linkage.")
    return actor


def _item_or_404(actor: Actor, pk: int) -> ReviewItem:
    item = linkage.review_item_for(actor=actor, pk=pk)
    if item is None:
        raise Http404("No review item with that number in your area.")
    return item


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """Open pairs, oldest first: ContactPoint IDs, the reason and the evidence, no child's details."""
    actor = _reviewer(request)
    page = Paginator(linkage.review_queue_for(actor=actor), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "all_areas": linkage.sees_every_area(actor), "area": actor.local_authority}
    return render(request, "web/review_queue.html", context)


@door_view  # source records only through linkage.selectors.review_pair_for, which audits each view
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def review_item(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _reviewer(request)
    item = _item_or_404(actor, pk)
    form = ReviewDecisionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and item.status == ReviewStatus.OPEN and form.is_valid():
        request.session[PENDING.format(item.pk)] = form.cleaned_data["decision"]
        return redirect("web:review_check", item.pk)
    if request.method == "GET" and (pending := request.session.get(PENDING.format(item.pk))):
        form = ReviewDecisionForm(initial={"decision": pending})
    pair = linkage.review_pair_for(actor=actor, item=item)
    context = {
        "pair": pair,
        "form": form,
        "names": COMPARISON_NAMES,
        "decision_items": [{"value": value, "text": text} for value, text in DECISIONS],
        "open": item.status == ReviewStatus.OPEN,
        "status": ReviewStatus(item.status).label,
        "scale": max([abs(w.weight) for w in pair.weights] + [1.0]),
    }
    return render(request, "web/review_item.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])  # a merge shows one child's people to another's
def review_check(request: HttpRequest, pk: int) -> HttpResponse:
    """Check your answers: ContactPoint IDs and the decision only; confirming applies and audits it."""
    actor = _reviewer(request)
    item = _item_or_404(actor, pk)
    decision = request.session.get(PENDING.format(item.pk))
    if decision not in dict(DECISIONS):
        return redirect("web:review_item", item.pk)
    problem = ""
    if request.method == "POST":
        try:
            merge = review_decide(item=item, same_child=decision == "same", by=request.user, actor=actor)
        except ValueError as refusal:
            problem = str(refusal)
        else:
            del request.session[PENDING.format(item.pk)]
            return render(request, "web/review_done.html", {"item": item, "merge": merge})
    context = {"item": item, "decision": decision, "decisions": dict(DECISIONS), "problem": problem}
    return render(request, "web/review_check.html", context)


@login_required
@require_GET
def merges(request: HttpRequest) -> HttpResponse:
    """Merges still in force, newest first, each with a way to split it."""
    actor = _reviewer(request)
    return render(request, "web/merges.html", {"merges": linkage.merges_recent_for(actor=actor)})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def merge_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a merge with a reason: the merged ID comes back with the records it brought."""
    actor = _reviewer(request)
    merge = linkage.merge_for(actor=actor, pk=pk)
    if merge is None:
        raise Http404("No merge in force with that number in your area.")
    form = MergeUndoForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            merge_undo(merge=merge, reason=form.cleaned_data["reason"], by=request.user)
        except ValueError as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(
                request,
                f"Merge undone: {merge.merged.contactpoint_id} is a separate child from "
                f"{merge.survivor.contactpoint_id} again.",
            )
            return redirect("web:merges")
    return render(request, "web/merge_undo.html", {"merge": merge, "form": form})


@login_required
@require_GET
def quality(request: HttpRequest) -> HttpResponse:
    """Counts per source, no child's details: a team's own area, or any area (or all) for data managers."""
    actor = actor_for(request)
    if not (actor.can(p.REVIEW_LINKAGE) or actor.can(p.MANAGE_FEEDS)):
        raise PermissionDenied("Your role cannot see the data-quality dashboard.")
    areas = list(linkage.local_authorities()) if linkage.sees_every_area(actor) else []
    if areas:
        area = next((la for la in areas if la.code == request.GET.get("area")), None)
    else:
        area = actor.local_authority
    report = linkage.quality_report(area=area)
    context = {
        "report": report,
        "estimate": linkage.false_merge_estimate(),
        "most_children": max([s["children"] for s in report["sources"]] + [1]),
        "may_review": actor.can(p.REVIEW_LINKAGE),
        "area": area,
        "areas": [{"value": "", "text": "The whole index", "selected": area is None}]
        + [{"value": la.code, "text": la.name, "selected": la == area} for la in areas]
        if areas
        else [],
    }
    return render(request, "web/quality.html", context)
