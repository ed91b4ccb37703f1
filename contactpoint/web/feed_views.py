"""Feed load reports and the quarantine: data managers see every area, an authority's team its own.

The load pages show counts, reasons and column names only. Quarantined rows are personal data
about people the index did not take in: they reach the page only through
`feeds.selectors.quarantine_rows_show`, which checks the area and audits each showing, and they
show names and dates of birth, never addresses, identifiers or contacts. A quarantined row is
put right by its source sending the corrected record in a later file, which the loader marks
resolved; a data manager of the body running the source can send that file here.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from contactpoint.access.actors import Actor
from contactpoint.feeds import selectors as feeds
from contactpoint.feeds.formats.base import UnreadableFile
from contactpoint.feeds.models import QuarantineStatus
from contactpoint.feeds.services import feed_submit
from contactpoint.records.models import Source

from .feed_forms import FeedFileForm
from .record_views import actor_for, door_view

PAGE_SIZE = 25
# Quarantine reasons and warning kinds in words (docs/feeds.md); any other is shown with `label`.
REASONS = {
    "missing_source_record_id": "No source record ID",
    "no_name": "No usable given or family name",
    "born_in_future": "Date of birth after the extract date",
    "aged_25_or_over": "Aged 25 or over",
    "adult_without_consent": "Aged 18 to 24 without consent to stay in the index",
    "duplicate_in_file": "Record ID already earlier in the same file",
    "malformed_row": "Row could not be read (more cells than the header, or unparseable)",
}


def _reader(request: HttpRequest) -> Actor:
    actor = actor_for(request)
    if not feeds.may_read_feeds(actor):
        raise PermissionDenied("Your role cannot see feed loads.")
    return actor


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


@login_required
@require_GET
def loads(request: HttpRequest) -> HttpResponse:
    """Loads, newest first, each with its counts from the load report."""
    actor = _reader(request)
    page = Paginator(feeds.feed_files_for(actor=actor), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "all_areas": feeds.sees_every_area(actor),
        "area": actor.local_authority,
        "quarantine": feeds.quarantine_counts(actor=actor),
        "sources": [s for s in Source.objects.order_by("name") if feeds.MAY_SUBMIT_FEED.allows(actor, s)],
    }
    return render(request, "web/feed_loads.html", context)


@login_required
@require_GET
def load(request: HttpRequest, pk: int) -> HttpResponse:
    """One load's report: counts, reasons for quarantine, warnings by kind, refused columns."""
    actor = _reader(request)
    feed_file = feeds.feed_files_for(actor=actor).filter(pk=pk).first()
    if feed_file is None:
        raise Http404("No feed load with that number concerns your area.")
    context = {
        "load": feed_file,
        "report": feed_file.report or {},
        "reasons": REASONS,
        "in_scope": feeds.quarantine_for(actor=actor, file=feed_file).count(),
        "all_areas": feeds.sees_every_area(actor),
        "may_resend": feeds.MAY_SUBMIT_FEED.allows(actor, feed_file.source),
    }
    return render(request, "web/feed_load.html", context)


@door_view  # rows only through feeds.selectors.quarantine_rows_show (area check, audit)
@login_required
@never_cache
@require_GET
def quarantine(request: HttpRequest) -> HttpResponse:
    """Quarantined rows with their reasons; open ones first, or one load's, or the resolved ones."""
    actor = _reader(request)
    status = request.GET.get("status", QuarantineStatus.OPEN)
    status = status if status in QuarantineStatus.values else QuarantineStatus.OPEN
    feed_file = None
    if request.GET.get("load", "").isdigit():
        feed_file = feeds.feed_files_for(actor=actor).filter(pk=int(request.GET["load"])).first()
        if feed_file is None:
            raise Http404("No feed load with that number concerns your area.")
    rows = feeds.quarantine_for(actor=actor, file=feed_file, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": feeds.quarantine_rows_show(actor=actor, rows=list(page), client=_client(request)),
        "status": status,
        "statuses": QuarantineStatus.choices,
        "load": feed_file,
        "reasons": REASONS,
        "all_areas": feeds.sees_every_area(actor),
        "area": actor.local_authority,
    }
    return render(request, "web/quarantine.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def resend(request: HttpRequest, source: str) -> HttpResponse:
    """Send a source's corrected file: loading it resolves the quarantined rows it corrects."""
    actor = actor_for(request)
    feed_source = Source.objects.filter(code=source).first()
    if feed_source is None:
        raise Http404("There is no such source.")
    if not feeds.MAY_SUBMIT_FEED.allows(actor, feed_source):
        raise PermissionDenied("Only a data manager of the body that runs this source may send its files.")
    posted = request.method == "POST"
    form = FeedFileForm(request.POST if posted else None, request.FILES if posted else None)
    if posted and form.is_valid():
        try:
            submitted = feed_submit(source_code=feed_source.code, upload=form.cleaned_data["file"])
        except ValidationError as problem:
            form.add_error("file", problem.messages[0])
        except UnreadableFile as problem:
            form.add_error("file", f"The file could not be read: {problem}")
        else:
            context = {"source": feed_source, "submitted": submitted, "reasons": REASONS}
            return render(request, "web/feed_sent.html", context)
    return render(request, "web/feed_resend.html", {"form": form, "source": feed_source})
