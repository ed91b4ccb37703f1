"""Audit reports and misuse alerts for management teams and auditors.

They show ids and actors, never a child's name: the log holds nothing else.
"""

import itertools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.reauth import confirmation_needed, recent_second_factor_required

from .misuse import (
    alerts_for,
    misuse_alert_close,
    misuse_alert_notify_manager,
    misuse_alert_reinstate_user,
    misuse_alert_suspend_user,
)
from .misuse_rules import RULES_BY_CODE
from .models import AlertStatus, EventType
from .reports import COLUMNS, REPORTS, report_csv_write, report_request, report_rows, row_values
from .selectors import audit_scope_for
from .services import audit_record

PAGE_ROWS = 500  # on screen; the CSV download holds every row


def _client(request: HttpRequest) -> str:
    return f"{request.META.get('REMOTE_ADDR', '')} {request.META.get('HTTP_USER_AGENT', '')[:150]}".strip()


def _actor(request: HttpRequest) -> Actor:
    assert request.user.is_authenticated  # login_required has run
    return Actor.for_user(request.user)


@require_GET
@login_required
def index(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    scope = audit_scope_for(actor)
    return render(request, "audit/index.html", {"reports": REPORTS.values(), "scope": scope})


@require_GET
@login_required
def report(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in REPORTS:
        raise Http404("No such report.")
    actor = _actor(request)
    scope = audit_scope_for(actor)
    context: dict = {"report": REPORTS[kind], "scope": scope, "query": request.GET, "columns": COLUMNS}
    asked = (
        any(request.GET.get(name) for name in ("child", "user", "since", "until")) or not REPORTS[kind].needs
    )
    if not asked:
        return render(request, "audit/report.html", context)
    try:
        wanted = report_request(
            kind=kind,
            child_id=request.GET.get("child", ""),
            username=request.GET.get("user", ""),
            since=request.GET.get("since", ""),
            until=request.GET.get("until", ""),
        )
    except ValidationError as problem:
        context["errors"] = problem.messages
        return render(request, "audit/report.html", context, status=400)
    if request.GET.get("format") == "csv":
        if (confirm_first := confirmation_needed(request)) is not None:  # an export leaves the service
            return confirm_first
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{kind}.csv"'
        report_csv_write(request=wanted, scope=scope, out=response, actor=actor, client=_client(request))
        return response
    rows = list(itertools.islice(report_rows(wanted, scope), PAGE_ROWS + 1))
    audit_record(  # reading the log is itself an act others may need to review
        event_type=EventType.ADMIN,
        actor=actor,
        child_ids=[wanted.child_id] if wanted.child_id else [],
        client=_client(request),
        details={
            "action": "audit_report_viewed",
            "report": kind,
            "filters": wanted.filters(),
            "rows": min(len(rows), PAGE_ROWS),
        },
    )
    context |= {
        "rows": [row_values(event) for event in rows[:PAGE_ROWS]],
        "truncated": len(rows) > PAGE_ROWS,
        "page_rows": PAGE_ROWS,
        "csv_query": request.GET.urlencode() + "&format=csv",
    }
    return render(request, "audit/report.html", context)


@require_GET
@login_required
def alerts(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    status = request.GET.get("status", AlertStatus.OPEN)
    listed = alerts_for(actor)
    if status in AlertStatus.values:
        listed = listed.filter(status=status)
    return render(
        request, "audit/alerts.html", {"alerts": listed[:200], "status": status, "rules": RULES_BY_CODE}
    )


RESPONSES = {
    "suspend": lambda alert, actor, form: misuse_alert_suspend_user(
        alert=alert, actor=actor, reason=form.get("reason", "")
    ),
    "reinstate": lambda alert, actor, form: misuse_alert_reinstate_user(
        alert=alert, actor=actor, reason=form.get("reason", "")
    ),
    "notify_manager": lambda alert, actor, form: misuse_alert_notify_manager(
        alert=alert, actor=actor, manager_email=form.get("manager_email", ""), note=form.get("note", "")
    ),
    "close": lambda alert, actor, form: misuse_alert_close(
        alert=alert, actor=actor, outcome=form.get("outcome", "")
    ),
}


@require_http_methods(["GET", "POST"])
@login_required
@recent_second_factor_required(methods=["POST"])  # suspending or reinstating an account
def alert(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    found = get_object_or_404(alerts_for(actor), pk=pk)
    errors: list[str] = []
    if request.method == "POST":
        respond = RESPONSES.get(request.POST.get("action", ""))
        if respond is None:
            errors = ["Choose what to do: suspend the account, notify the manager or record the outcome."]
        else:
            try:
                respond(found, actor, request.POST)
            except ValidationError as problem:
                errors = problem.messages
            else:
                return redirect("audit:alert", pk=found.pk)
    context = {
        "alert": found,
        "rule": RULES_BY_CODE.get(found.rule),
        "actions": found.actions.select_related("by").order_by("at"),
        "may_act": actor.can(p.RESPOND_TO_MISUSE) and found.status == AlertStatus.OPEN,
        "suspended": not found.user.is_active,
        "errors": errors,
        "form": request.POST,
    }
    return render(request, "audit/alert.html", context, status=400 if errors else 200)
