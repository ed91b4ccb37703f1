"""The team's record-keeping pages for one child: consent to stay live to 25, a death, a correction.

Each is reached from the child's record or the subject access page, belongs to the team of the
authority responsible for the child (the services check role and area, and audit refusals), and
needs a fresh second factor to save. The question pages show the ContactPoint ID only; the
answer page shows what was recorded, written with its audit event in one transaction.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.door import responsible_team_required
from contactpoint.access.reauth import recent_second_factor_required
from contactpoint.audit.models import EventType
from contactpoint.records.models import Child
from contactpoint.retention.models import RetentionConsent
from contactpoint.retention.services import child_death_record, retention_consent_record
from contactpoint.subject_access.services import rectification_record

from .record_views import actor_for, child_or_404, door_view
from .retention_forms import ChildDeathForm, CorrectionForm, RetentionConsentForm

# Where a correction the service refuses is shown, by what its message is about.
_CORRECTION_ERRORS = (
    ("statutory", "field"),
    ("already held", "corrected_value"),
    ("who asked", "requested_by"),
    ("", "source_record_id"),  # the source holds no such value
)


def _responsible(
    request: HttpRequest, contactpoint_id: str, *, permission: str, doing: str
) -> tuple[Actor, Child]:
    """The actor and child, once the actor is known to be the responsible team (refusals audited)."""
    actor = actor_for(request)
    child = child_or_404(contactpoint_id)
    responsible_team_required(actor, child, permission=permission, event_type=EventType.CHANGE, doing=doing)
    return actor, child


def _done(
    request: HttpRequest, child: Child, *, title: str, rows: list[tuple[str, str]], after: str
) -> HttpResponse:
    context = {"title": title, "contactpoint_id": child.contactpoint_id, "rows": rows, "after": after}
    return render(request, "web/record_keeping_done.html", context)


@door_view
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def retention_consent(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """Consent that keeps a care leaver's or SEN young person's record live until 25."""
    actor, child = _responsible(
        request, contactpoint_id, permission=p.RECORD_RETENTION, doing="record consent for it"
    )
    form = RetentionConsentForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        consent = form.cleaned_data["consent"]
        retention_consent_record(
            actor=actor, child=child, consent=consent, evidence=form.cleaned_data["evidence"]
        )
        return _done(
            request,
            child,
            title="Consent recorded",
            rows=[
                ("Consent", RetentionConsent(consent).label),
                ("How it was given", form.cleaned_data["evidence"]),
            ],
            after="The record stays live until the young person's 25th birthday, then it is archived.",
        )
    return render(
        request, "web/retention_consent.html", {"form": form, "contactpoint_id": child.contactpoint_id}
    )


@door_view
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def child_death(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """A child's death: the record stays live a year for the child death review, then archives."""
    actor, child = _responsible(
        request, contactpoint_id, permission=p.RECORD_RETENTION, doing="record a death for it"
    )
    form = ChildDeathForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        died_on, source = form.cleaned_data["died_on"], form.cleaned_data["source"]
        child_death_record(actor=actor, child=child, died_on=died_on, source=source)
        return _done(
            request,
            child,
            title="Death recorded",
            rows=[("Date of death", f"{died_on:%-d %B %Y}"), ("Who told you", source)],
            after="The record stays live for a year for the child death review, then it is archived.",
        )
    return render(request, "web/child_death.html", {"form": form, "contactpoint_id": child.contactpoint_id})


@door_view
@login_required
@never_cache
@require_http_methods(["GET", "POST"])
@recent_second_factor_required(methods=["POST"])
def correction(request: HttpRequest, contactpoint_id: str) -> HttpResponse:
    """A correction someone asked for: recorded with who asked, and the source told (it corrects
    its own value in its next feed). The subject access page links here with the value filled in."""
    actor, child = _responsible(
        request, contactpoint_id, permission=p.EXPORT_SUBJECT_ACCESS, doing="record corrections for it"
    )
    prefilled = {k: request.GET.get(k, "") for k in ("item", "field", "source", "source_record_id")}
    form = CorrectionForm(request.POST if request.method == "POST" else None, initial=prefilled)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rectification = rectification_record(
                actor=actor,
                child=child,
                item=data["item"],
                field=data["field"],
                source_code=data["source"],
                source_record_id=data["source_record_id"],
                corrected_value=data["corrected_value"],
                requested_by=data["requested_by"],
            )
        except ValidationError as problem:
            message = problem.messages[0]
            form.add_error(next(f for words, f in _CORRECTION_ERRORS if words in message), message)
        else:
            return _done(
                request,
                child,
                title="Correction recorded",
                rows=[
                    ("Value", f"{rectification.item}.{rectification.field}"),
                    ("Held", rectification.current_value),
                    ("Corrected to", rectification.corrected_value),
                    ("Asked by", rectification.requested_by),
                    ("Source told", f"{data['source']} (record {rectification.source_record_id})"),
                ],
                after="The source has been sent a notice; the corrected value arrives with its next feed.",
            )
    return render(request, "web/correction.html", {"form": form, "contactpoint_id": child.contactpoint_id})
