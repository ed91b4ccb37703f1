"""Cross-cutting: every URL and command that returns a child's data writes its audit event, in the
transaction that returns the data (no audit, no data).

The routes come from Django's URL resolver (web pages, /api and /fhir) and the commands from
Django's command registry, so nothing can be added without this test knowing. Each route and
method that reaches the door (marked `uses_child_door`, see test_one_door) needs a recipe here
that calls it as an authorised actor; the rest must be on the reviewed allow-list of routes and
commands that return no child data. Each recipe is then run twice:

1. as is: it succeeds and writes an event of its kind naming the child;
2. with every INSERT into the audit log refused by the database: it must fail without a byte of
   the child's data in the answer and without changing anything. That can only hold if the data
   and its event share a transaction, so a path that audits afterwards, or not at all, fails.
"""

import io
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from contactpoint.access.services import api_token_issue
from contactpoint.access.tests.factories import sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.linkage.models import ReviewItem, ReviewStatus
from contactpoint.linkage.services import link_run
from contactpoint.linkage.tests.helpers import child_of, load, person
from contactpoint.notifications.models import PostcodeDistrict
from contactpoint.records.models import Organisation, OrganisationKind
from contactpoint.records.tests.factories import InvolvementFactory
from contactpoint.tests.test_one_door import NO_CHILD_DATA
from contactpoint.web.tests.world import build_world

pytestmark = pytest.mark.django_db
REASON = "Section 47 enquiry opened today"
HANDLERS = ("get", "post", "put", "patch", "delete")
FUNCTION_VIEW_METHODS = ("get", "post")  # the web's function views answer these two at most

# Methods of door routes that show no child data: a question page asks for a reason or criteria
# first; the pair page's POST only stores the reviewer's pending answer and redirects.
NO_CHILD_DATA_METHODS = {
    ("contactpoint.web.views.search", "get"),
    ("contactpoint.web.record_views.child_open", "get"),
    ("contactpoint.web.record_views.child_break_glass", "get"),
    ("contactpoint.web.linkage_views.review_item", "post"),
    ("contactpoint.subject_access.views.subject_access", "get"),  # the request form: an ID only
    ("contactpoint.web.feed_views.quarantine", "post"),  # GET only: a POST is refused with 405
    # The team's record-keeping questions: the ContactPoint ID only (refusals are audited).
    ("contactpoint.web.retention_views.retention_consent", "get"),
    ("contactpoint.web.retention_views.child_death", "get"),
    ("contactpoint.web.retention_views.correction", "get"),
}

# Commands that return no child's data, each with why. A new command fails the test until it is
# added here (reviewed) or given a recipe below.
NO_CHILD_DATA_COMMANDS = {
    "create_user": "creates an account; prints a token at most",
    "shield_child": "writes a shield (audited as a shield change); prints the shield's ID",
    "shield_reviews": "lists shields by ContactPoint ID and review date",
    "sync_roles": "reference data",
    "audit_keys": "key ids and the keyring's state",
    "detect_misuse": "raises alerts holding event ids and counts",
    "grant_app_role": "database grants",
    "seal_audit": "extends the audit chain",
    "verify_audit": "names the first bad audit entry by position",
    "load_feed": "prints the load report: counts, reasons and column names",
    "sync_sources": "reference data",
    "link": "prints counts",
    "linkage_report": "counts and rates",
    "train_model": "writes a match model: weights and thresholds",
    "load_organisations": "reference data",
    "synth": "writes a synthetic population from a seed, never from the index",
    "demo": "prepares the demo; prints demo users and ContactPoint IDs only",
    "demo_code": "prints the demo authenticator's current code",
    "apply_retention": "prints what it archived or destroyed: action, ContactPoint ID, basis, date",
    "rotate_data_keys": "rewraps data keys; prints counts per key id",
    "rotate_index_key": "re-keys the blind candidate index; prints counts",
    "decommission": "destroys the data; prints the certificate's path and its check",
    "record_correction": "writes a correction (audited as a change); prints the notice owed",
    "notify_dispatch": "delivers notifications (each send checked by the door and audited); prints counts",
    "load_postcode_districts": "reference data",
    "scope_review": "archives and restores children for the targeted scope; prints counts",
}


def door_routes(resolver: URLResolver | None = None, prefix: str = ""):
    """(route, view name, methods it answers) for every URL marked as reaching the door."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from door_routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and getattr(entry.callback, "uses_child_door", False):
            view = getattr(entry.callback, "view_class", None)
            name = f"{(view or entry.callback).__module__}.{(view or entry.callback).__qualname__}"
            methods = (
                tuple(m for m in HANDLERS if hasattr(view, m)) if view is not None else FUNCTION_VIEW_METHODS
            )
            yield prefix + str(entry.pattern), name, methods


def project_commands() -> list[str]:
    return sorted(name for name, app in get_commands().items() if app.startswith("contactpoint"))


@dataclass
class Call:
    """What a recipe did: the answer, the event it should have written, and the data it showed."""

    event_type: str
    child_id: str
    text: str  # the answer's body, or the file the command wrote ("" when none was written)
    succeeded: bool


@dataclass
class Request:
    """A call made ready (signed in, token issued: those write their own events), then sent."""

    send: Callable[[], Any]
    event_type: str
    child_id: str

    def __call__(self) -> Call:
        response = self.send()
        if isinstance(response, Call):
            return response
        return Call(
            self.event_type, self.child_id, response.content.decode(), 200 <= response.status_code < 300
        )


@pytest.fixture
def world(tmp_path):
    world = build_world(tmp_path)
    load(tmp_path, "gp_registration", [person("N1", nhs_number="9434765919", **NOAH)])
    load(tmp_path, "child_benefit", [person("N2", nhs_number="9434765870", **NOAH)])
    link_run()
    leeds = Organisation.objects.get(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    InvolvementFactory(child=child_of("gp_registration", "N1"), organisation=leeds)
    world.review_item = ReviewItem.objects.filter(status=ReviewStatus.OPEN).first()  # type: ignore[attr-defined]
    world.tmp_path = tmp_path  # type: ignore[attr-defined]
    return world


NOAH = {"given_name": "Noah", "family_name": "Briggs", "date_of_birth": "2014-05-05", "postcode": "LS8 1AA"}


def web(user) -> Client:
    client = Client(raise_request_exception=False)
    sign_in_verified(client, user)
    return client


def api(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_token_issue(user=user, name='cross-cutting')}",
        HTTP_X_ACCESS_REASON=REASON,
    )
    return client


def _answer(client, method: str, path: str, event_type: str, child_id: str, *args, **kwargs) -> Request:
    return Request(lambda: getattr(client, method)(path, *args, **kwargs), event_type, child_id)


def _child(world) -> str:
    return world.child.contactpoint_id


def _emergency_lookups(w) -> Request:
    """Asked by the team of the authority the child lives in (its postcode district's)."""
    PostcodeDistrict.objects.create(district="LS6", local_authority=w.team.profile.local_authority)
    return _answer(
        api(w.team), "get", f"/api/v1/children/{_child(w)}/emergency-lookups", EventType.VIEW, _child(w)
    )


# (view name, method) -> a call as an authorised actor, made ready to send.
RECIPES: dict[tuple[str, str], Callable[[Any], Request]] = {
    ("contactpoint.web.views.search", "post"): lambda w: _answer(
        web(w.practitioner),
        "post",
        "/children/search/",
        EventType.SEARCH,
        _child(w),
        {"family_name": "Khan", "dob_day": 14, "dob_month": 3, "dob_year": 2015},
    ),
    ("contactpoint.web.record_views.child_open", "post"): lambda w: _answer(
        web(w.practitioner),
        "post",
        f"/children/{_child(w)}/",
        EventType.VIEW,
        _child(w),
        {"reason": "safeguarding"},
    ),
    ("contactpoint.web.record_views.child_break_glass", "post"): lambda w: _answer(
        web(w.other_team),
        "post",
        f"/children/{w.shielded.contactpoint_id}/override/",
        EventType.BREAK_GLASS,
        w.shielded.contactpoint_id,
        {"reason": "safeguarding", "confirm": "on"},
    ),
    ("contactpoint.subject_access.views.subject_access", "post"): lambda w: _answer(
        web(w.team),
        "post",
        f"/subject-access/{_child(w)}/",
        EventType.EXPORT,
        _child(w),
        {"reference": "SAR 2026/7, from the child's mother", "output": "json"},
    ),
    ("contactpoint.web.retention_views.retention_consent", "post"): lambda w: _answer(
        web(w.team),
        "post",
        f"/children/{_child(w)}/retention-consent/",
        EventType.CHANGE,
        _child(w),
        {"consent": "special_educational_needs", "evidence": "Signed form"},
    ),
    ("contactpoint.web.retention_views.child_death", "post"): lambda w: _answer(
        web(w.team),
        "post",
        f"/children/{_child(w)}/death/",
        EventType.CHANGE,
        _child(w),
        {"died_day": "1", "died_month": "11", "died_year": "2026", "source": "The registrar"},
    ),
    ("contactpoint.web.retention_views.correction", "post"): lambda w: _answer(
        web(w.team),
        "post",
        f"/children/{_child(w)}/correction/",
        EventType.CHANGE,
        _child(w),
        {
            "item": "ChildName",
            "field": "family_name",
            "source": "gp_registration",
            "source_record_id": "G1",
            "corrected_value": "Khan-Ali",
            "requested_by": "The child's mother",
        },
    ),
    ("contactpoint.api.subscriptions.EmergencyLookupsApi", "get"): lambda w: _emergency_lookups(w),
    ("contactpoint.web.linkage_views.review_item", "get"): lambda w: _answer(
        web(w.team),
        "get",
        f"/linkage/review/{w.review_item.pk}/",
        EventType.VIEW,
        w.review_item.child_a.contactpoint_id,
    ),
    ("contactpoint.api.search.ChildSearchApi", "get"): lambda w: _answer(
        api(w.practitioner),
        "get",
        "/api/v1/children/search",
        EventType.SEARCH,
        _child(w),
        {"family_name": "Khan", "date_of_birth": "2015-03-14"},
    ),
    ("contactpoint.api.views.ChildRecordApi", "get"): lambda w: _answer(
        api(w.practitioner), "get", f"/api/v1/children/{_child(w)}", EventType.VIEW, _child(w)
    ),
    ("contactpoint.api.views.ChildCarersApi", "get"): lambda w: _answer(
        api(w.practitioner), "get", f"/api/v1/children/{_child(w)}/carers", EventType.VIEW, _child(w)
    ),
    ("contactpoint.api.views.ChildInvolvementsApi", "get"): lambda w: _answer(
        api(w.practitioner), "get", f"/api/v1/children/{_child(w)}/involvements", EventType.VIEW, _child(w)
    ),
    ("contactpoint.api.views.ChildInvolvementsApi", "post"): lambda w: _answer(
        api(w.practitioner),
        "post",
        f"/api/v1/children/{_child(w)}/involvements",
        EventType.CHANGE,
        _child(w),
        {"service_type": "early_help", "practitioner": {"given_name": "Priya", "family_name": "Shah"}},
        format="json",
    ),
    ("contactpoint.api.views.ChildInvolvementApi", "get"): lambda w: _answer(
        api(w.practitioner),
        "get",
        f"/api/v1/children/{_child(w)}/involvements/{_own_involvement(w)[0]}",
        EventType.VIEW,
        _child(w),
    ),
    ("contactpoint.api.views.ChildInvolvementApi", "patch"): lambda w: _patch_own_involvement(w),
    ("contactpoint.api.views.ChildAddressApi", "post"): lambda w: _answer(
        api(w.practitioner),
        "post",
        f"/api/v1/children/{_child(w)}/address",
        EventType.CHANGE,
        _child(w),
        {"address_line_1": "4 Elm Street", "town": "Leeds", "postcode": "LS7 1AA"},
        format="json",
    ),
    ("contactpoint.api.fhir.views.PatientSearchView", "get"): lambda w: _answer(
        api(w.practitioner),
        "get",
        "/fhir/Patient",
        EventType.SEARCH,
        _child(w),
        {"family": "Khan", "birthdate": "2015-03-14"},
    ),
    ("contactpoint.api.fhir.views.PatientReadView", "get"): lambda w: _answer(
        api(w.practitioner), "get", f"/fhir/Patient/{_child(w)}", EventType.VIEW, _child(w)
    ),
    ("contactpoint.api.fhir.views.RelatedPersonSearchView", "get"): lambda w: _answer(
        api(w.practitioner), "get", "/fhir/RelatedPerson", EventType.VIEW, _child(w), {"patient": _child(w)}
    ),
    ("contactpoint.web.feed_views.quarantine", "get"): lambda w: _quarantine(w),
    ("contactpoint.api.fhir.views.EpisodeOfCareSearchView", "get"): lambda w: _answer(
        api(w.practitioner),
        "get",
        "/fhir/EpisodeOfCare",
        EventType.VIEW,
        _child(w),
        {"patient": f"Patient/{_child(w)}"},
    ),
}


def _own_involvement(world) -> tuple[int, str]:
    """Leeds's own involvement with the child (id and ETag), read here without going through the door."""
    from contactpoint.records.models import Involvement
    from contactpoint.records.services import involvement_version

    own = Involvement.objects.get(
        child=world.child, organisation__code="383", superseded_at__isnull=True, end_date__isnull=True
    )
    return own.pk, f'"{involvement_version(own)}"'


def _patch_own_involvement(world) -> Request:
    """Leeds records its involvement through the API, then changes it (the API changes only its own)."""
    client = api(world.practitioner)
    created = client.post(
        f"/api/v1/children/{_child(world)}/involvements", {"service_type": "early_help"}, format="json"
    ).json()
    return _answer(
        client,
        "patch",
        f"/api/v1/children/{_child(world)}/involvements/{created['id']}",
        EventType.CHANGE,
        _child(world),
        {"has_caf": True},
        format="json",
        HTTP_IF_MATCH=created["etag"],
    )


def _quarantine(world) -> Request:
    """A GP practice in Leeds sends a row it may not load (born 1990): it waits in quarantine with its
    name and birth date, belonging to no child yet, and the Leeds team looks at it."""
    load(
        world.tmp_path,
        "gp_registration",
        [
            person(
                "Q1",
                given_name="Quentin",
                family_name="Quarrie",
                date_of_birth="1990-01-01",
                gp_practice_code="B86001",
            )
        ],
    )
    return _answer(web(world.team), "get", "/feeds/quarantine/", EventType.ADMIN, "")


def _export_links(world) -> Request:
    return Request(lambda: _run_export_links(world), EventType.EXPORT, "")


def _audit_report(world) -> Request:
    return Request(lambda: _run_audit_report(world), EventType.EXPORT, _child(world))


def _run_export_links(world) -> Call:
    out = Path(world.tmp_path) / "links.csv"
    with suppress(CommandError, DatabaseError):  # a refusal; what matters is what was written
        call_command("export_links", str(out), by="data-manager", stdout=io.StringIO())
    text = out.read_text() if out.exists() else ""
    return Call(EventType.EXPORT, "", text, bool(text))


def _run_audit_report(world) -> Call:
    out = Path(world.tmp_path) / "access.csv"
    with suppress(CommandError, DatabaseError):
        call_command(
            "audit_report", "access_history", child=_child(world), out=str(out), stdout=io.StringIO()
        )
    text = out.read_text() if out.exists() else ""
    return Call(EventType.EXPORT, _child(world), text, bool(text))


COMMAND_RECIPES: dict[str, Callable[[Any], Request]] = {
    "export_links": _export_links,
    "audit_report": _audit_report,
}


@contextmanager
def audit_log_refuses_writes():
    """The database refuses every INSERT into the audit log, as a full disk or a revoked grant would."""
    table = AuditEvent._meta.db_table

    def refuse(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and table in sql:
            raise DatabaseError(f"refused: INSERT into {table}")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


def _data_of(world) -> list[str]:
    """Values of the children's records that no failed call may show."""
    return ["Amelia", "LS6 2AB", "07700 900001", "Okafor", "Lily", "LS7 3AA", "Noah", "LS8 1AA", "Quarrie"]


def _state() -> list[list[tuple]]:
    """What a change could alter: involvements (with their flags and dates), addresses, practitioners,
    retention facts (consent, a death) and corrections with their notices."""
    from contactpoint.records.models import ChildAddress, Involvement, Practitioner
    from contactpoint.retention.models import ChildRetention
    from contactpoint.subject_access.models import Rectification, SourceNotification

    return [
        sorted(
            Involvement.objects.values_list(
                "pk", "has_caf", "is_lead_professional", "end_date", "superseded_at"
            )
        ),
        sorted(ChildAddress.objects.values_list("pk", "is_chosen", "superseded_at")),
        sorted(Practitioner.objects.values_list("pk")),
        sorted(ChildRetention.objects.values_list("pk", "consent", "died_on")),
        sorted(Rectification.objects.values_list("pk")),
        sorted(SourceNotification.objects.values_list("pk")),
    ]


def test_every_route_that_reaches_the_door_has_a_recipe_or_is_allow_listed():
    uncovered = [
        (route, name, method)
        for route, name, methods in door_routes()
        for method in methods
        if (name, method) not in RECIPES and (name, method) not in NO_CHILD_DATA_METHODS
    ]
    assert uncovered == [], "Give these a recipe (or, if they show no child data, allow-list them)"
    known = {name for _, name, _ in door_routes()}
    stale = {name for name, _ in RECIPES | dict.fromkeys(NO_CHILD_DATA_METHODS)} - known
    assert stale == set(), "Recipes for routes that no longer exist"
    assert not known & NO_CHILD_DATA, "A route is both allow-listed and marked as reaching the door"


def test_every_command_has_a_recipe_or_is_allow_listed():
    commands = set(project_commands())
    assert commands - set(COMMAND_RECIPES) - set(NO_CHILD_DATA_COMMANDS) == set()
    assert (set(COMMAND_RECIPES) | set(NO_CHILD_DATA_COMMANDS)) - commands == set()


def _calls() -> list[Any]:
    return [
        *(pytest.param(RECIPES[key], id=f"{key[0].rsplit('.', 1)[-1]}-{key[1]}") for key in sorted(RECIPES)),
        *(pytest.param(COMMAND_RECIPES[name], id=f"command-{name}") for name in sorted(COMMAND_RECIPES)),
    ]


@pytest.mark.parametrize("recipe", _calls())
def test_a_data_path_writes_its_event(world, recipe):
    request = recipe(world)
    before = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    call = request()
    assert call.succeeded, call.text[:500]
    events = AuditEvent.objects.filter(pk__gt=before, event_type=call.event_type, outcome="success")
    assert events.exists(), f"no {call.event_type} event"
    if call.child_id:
        assert any(
            call.child_id in e.child_ids or call.child_id in e.details.get("returned_ids", []) for e in events
        ), "the event does not name the child"


@pytest.mark.parametrize("recipe", _calls())
def test_no_audit_no_data(world, recipe):
    request = recipe(world)
    state = _state()
    with audit_log_refuses_writes():
        call = request()
    assert not call.succeeded
    shown = [value for value in _data_of(world) if value in call.text]
    assert shown == [], "data left with no audit event"
    assert _state() == state, "a change was kept although its audit event was not written"
