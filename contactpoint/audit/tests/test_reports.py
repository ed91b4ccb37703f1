"""Reports for management teams and auditors: scoped to who may read them, exported as audited CSV."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from contactpoint.access.door import child_record_for
from contactpoint.access.tests.factories import actor_for, sign_in_verified
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.audit.reports import report_request, report_rows
from contactpoint.audit.selectors import EVERYWHERE, AuditScope, audit_scope_for
from contactpoint.audit.services import audit_record
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import ChildFactory, ChildNameFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
REASON = "Referral from school"


@pytest.fixture
def world():
    leeds = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    manchester = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="352")
    child, other = ChildFactory(), ChildFactory()
    ChildNameFactory(child=child, given_name="Zebedee", family_name="Quixote", is_chosen=True)
    leeds_worker = actor_for("practitioner", leeds, username="lee")
    manchester_worker = actor_for("practitioner", manchester, username="man")
    child_record_for(leeds_worker, child, reason=REASON)
    child_record_for(manchester_worker, child, reason=REASON)
    child_record_for(leeds_worker, other, reason=REASON)
    for actor, returned in (
        (leeds_worker, [child.contactpoint_id, other.contactpoint_id]),
        (manchester_worker, [other.contactpoint_id]),
    ):
        audit_record(
            event_type=EventType.SEARCH,
            actor=actor,
            details={"criteria": {"family_name": "Quixote"}, "returned_ids": returned},
        )
    return {
        "leeds": leeds,
        "manchester": manchester,
        "child": child,
        "other": other,
        "team": actor_for("la_management", leeds, username="leeds-team"),
        "auditor": actor_for("auditor", leeds, username="auditor"),
    }


def rows(kind, scope=EVERYWHERE, **filters):
    return [
        (e.event_type, e.actor_username) for e in report_rows(report_request(kind=kind, **filters), scope)
    ]


def test_access_history_lists_every_view_of_that_child_and_no_other(world):
    history = rows("access_history", child_id=world["child"].contactpoint_id)
    assert history == [(EventType.VIEW, "lee"), (EventType.VIEW, "man")]


def test_a_team_sees_only_its_own_users_and_an_auditor_sees_everyone(world):
    child_id = world["child"].contactpoint_id
    assert audit_scope_for(world["team"]) == AuditScope("383")
    assert rows("access_history", audit_scope_for(world["team"]), child_id=child_id) == [
        (EventType.VIEW, "lee")
    ]
    assert len(rows("access_history", audit_scope_for(world["auditor"]), child_id=child_id)) == 2


def test_a_practitioner_cannot_read_the_audit_log(world):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied, match="cannot read the audit log"):
        audit_scope_for(actor_for("practitioner", world["leeds"], username="nosy"))


def test_searches_returning_a_child_read_the_returned_ids(world):
    assert rows("searches_returning", child_id=world["child"].contactpoint_id) == [(EventType.SEARCH, "lee")]
    assert len(rows("searches_returning", child_id=world["other"].contactpoint_id)) == 2
    # A ContactPoint ID that is only a prefix of another's matches nothing.
    assert rows("searches_returning", child_id=world["child"].contactpoint_id[:-1]) == []


def test_user_activity_and_periods(world):
    assert [kind for kind, _ in rows("user_activity", username="man")] == [EventType.VIEW, EventType.SEARCH]
    assert rows("user_activity", username="man", until="2000-01-01") == []


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"kind": "nonsense"}, "Unknown report"),
        ({"kind": "access_history"}, "needs a child"),
        ({"kind": "user_activity"}, "needs a username"),
        ({"kind": "exports", "since": "yesterday"}, "since must be a date"),
        ({"kind": "exports", "since": "2026-02-30"}, "since must be a date"),
        ({"kind": "exports", "since": "2026-03-02", "until": "2026-03-01"}, "start of the period"),
    ],
)
def test_bad_report_requests_say_what_is_wrong(filters, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match=message):
        report_request(**filters)


def test_the_csv_export_command_writes_ids_not_names_and_is_audited(world, tmp_path):
    out = tmp_path / "history.csv"
    child_id = world["child"].contactpoint_id
    stdout = io.StringIO()
    call_command("audit_report", "access_history", "--child", child_id, "--out", str(out), stdout=stdout)
    assert "2 events written" in stdout.getvalue()
    table = list(csv.DictReader(out.open()))
    assert [(r["actor_username"], r["child_ids"], r["reason"]) for r in table] == [
        ("lee", child_id, REASON),
        ("man", child_id, REASON),
    ]
    assert "Quixote" not in out.read_text() and "Zebedee" not in out.read_text()
    export = AuditEvent.objects.get(event_type=EventType.EXPORT)
    assert export.child_ids == [child_id]
    assert export.details["report"] == "access_history" and export.details["rows"] == 2
    call_command("audit_report", "exports", "--out", str(out), stdout=io.StringIO())
    assert [r["event_id"] for r in csv.DictReader(out.open())] == [str(export.pk)]


def test_the_command_refuses_bad_input_and_writes_nothing(world, tmp_path):
    out = tmp_path / "x.csv"
    with pytest.raises(CommandError, match="needs a child"):
        call_command("audit_report", "access_history", "--out", str(out))
    with pytest.raises(CommandError, match="cannot read the audit log"):
        call_command("audit_report", "exports", "--by", "lee", "--out", str(out))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("audit_report", "exports", "--out", str(tmp_path / "missing" / "x.csv"))
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert not AuditEvent.objects.filter(event_type=EventType.EXPORT).exists()


def test_the_command_as_a_team_member_exports_only_its_area(world, tmp_path):
    out = tmp_path / "h.csv"
    child_id = world["child"].contactpoint_id
    call_command(
        "audit_report",
        "access_history",
        "--child",
        child_id,
        "--by",
        "leeds-team",
        "--out",
        str(out),
        stdout=io.StringIO(),
    )
    assert [r["actor_username"] for r in csv.DictReader(out.open())] == ["lee"]
    assert AuditEvent.objects.get(event_type=EventType.EXPORT).actor_username == "leeds-team"


def signed_in(client, username):
    sign_in_verified(client, get_user_model().objects.get(username=username))
    return client


def test_report_pages_show_ids_and_actors_to_the_team(world, client):
    signed_in(client, "leeds-team")
    child_id = world["child"].contactpoint_id
    assert client.get(reverse("audit:index")).status_code == 200
    page = client.get(reverse("audit:report", args=["access_history"]), {"child": child_id})
    text = page.content.decode()
    assert page.status_code == 200 and child_id in text and "lee" in text
    assert ">man<" not in text and "Quixote" not in text
    assert not AuditEvent.objects.filter(event_type=EventType.EXPORT).exists()
    viewed = AuditEvent.objects.get(details__action="audit_report_viewed")
    assert (viewed.actor_username, viewed.child_ids, viewed.details["rows"]) == ("leeds-team", [child_id], 1)


def test_report_pages_explain_bad_filters(world, client):
    signed_in(client, "auditor")
    page = client.get(reverse("audit:report", args=["exports"]), {"since": "not a date"})
    assert page.status_code == 400 and "since must be a date" in page.content.decode()
    assert client.get(reverse("audit:report", args=["nonsense"])).status_code == 404


def test_the_csv_download_is_audited_as_an_export(world, client):
    signed_in(client, "auditor")
    child_id = world["child"].contactpoint_id
    response = client.get(
        reverse("audit:report", args=["searches_returning"]), {"child": child_id, "format": "csv"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["actor_username"] for r in table] == ["lee"]
    export = AuditEvent.objects.get(event_type=EventType.EXPORT)
    assert (export.actor_username, export.details["rows"]) == ("auditor", 1)


@pytest.mark.parametrize("role", ["practitioner", "national_partner", "data_manager", "system_admin"])
def test_other_roles_are_refused_the_reports(world, client, role):
    actor_for(role, world["leeds"], username=f"x-{role}")
    signed_in(client, f"x-{role}")
    assert client.get(reverse("audit:index")).status_code == 403
    assert client.get(reverse("audit:report", args=["break_glass"])).status_code == 403
