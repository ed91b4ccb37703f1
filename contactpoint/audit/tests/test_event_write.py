"""What every search and view pays to write its event, cut without changing what the log holds:
event uids in time order; the canonical bytes unchanged, so entries signed before still verify;
and every report, misuse rule and the user's own trail still served by an index after the event
table's indexes were cut to what those reads need (migration 0008). Plans are checked on
PostgreSQL with sequential scans priced out: a query that no index can serve (say, a partial
index whose condition the query does not imply) still shows a sequential scan."""

import datetime
import json
import time
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contactpoint.access.tests.factories import actor_for
from contactpoint.audit import misuse, selectors
from contactpoint.audit.models import AuditEvent, EventType
from contactpoint.audit.services import HASHED_FIELDS, audit_record, canonical, event_uid
from contactpoint.audit.verify import verify_log
from contactpoint.records.models import OrganisationKind
from contactpoint.records.tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


def test_event_uids_are_version_7_unique_and_in_time_order():
    first = [event_uid() for _ in range(2000)]
    time.sleep(0.002)
    later = event_uid()
    assert {u.version for u in first} == {7} and {u.variant for u in first} == {uuid.RFC_4122}
    assert len(set(first)) == len(first)
    assert all(u < later for u in first)  # a later millisecond sorts after every earlier uid
    assert abs((first[0].int >> 80) - time.time_ns() // 1_000_000) < 60_000  # the millisecond it was made


def test_audit_record_stores_a_version_7_uid():
    event = audit_record(event_type=EventType.VIEW, username="someone", child_ids=["CP1"])
    assert AuditEvent.objects.get(pk=event.pk).uid.version == 7


def test_the_canonical_bytes_are_the_sorted_compact_json_events_were_always_signed_over():
    event = audit_record(
        event_type=EventType.SEARCH,
        username="Zoë",
        child_ids=["CP2", "CP1"],
        reason="Référence",
        details={"z": [1, {"é": None}], "a": True},
    )
    stored = AuditEvent.objects.values(*HASHED_FIELDS).get(pk=event.pk)
    content = {**stored, "uid": str(stored["uid"]), "occurred_at": stored["occurred_at"].isoformat()}
    assert stored["occurred_at"].utcoffset() == datetime.timedelta(0)
    expected = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert canonical(stored) == expected
    assert verify_log().intact


def _plan_of_each_read(read) -> str:
    """The plans PostgreSQL would use for the statements `read` sends, sequential scans aside."""
    with CaptureQueriesContext(connection) as captured:
        read()
    plans = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for query in captured.captured_queries:
            sql = query["sql"].lstrip()
            if sql.upper().startswith(("SELECT", "DECLARE")):  # iterators read through a named cursor
                cursor.execute("EXPLAIN " + sql[sql.upper().index("SELECT") :])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert plans, "the read sent no SELECT"
    return "\n".join(plans)


@pytest.fixture
def busy_log():
    """Enough events of every kind that the planner has something to choose between, in a live
    log's proportions: views and searches, with break-glass and exports rare (one in thirty each
    here). With a quarter of the log exports, the partial index was barely more selective than
    the time range's BRIN, and the planner's choice between them varied from run to run."""
    now = timezone.now()
    area = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    actors = [actor_for("practitioner", area, username=f"user{n}") for n in range(40)]
    rare = {2: EventType.BREAK_GLASS, 3: EventType.EXPORT}
    for n in range(600):
        kind = rare.get(n % 30, [EventType.VIEW, EventType.SEARCH][n % 2])
        audit_record(
            event_type=kind,
            actor=actors[n % 40] if n % 10 else None,  # a few without: sign-in steps
            username=f"user{n % 40}",
            child_ids=[f"CP{n}"] if kind != EventType.SEARCH else [],
            details={"returned_ids": [f"CP{n}", f"CP{n + 1}"]} if kind == EventType.SEARCH else {},
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")
    return now


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("break_glass", "audit_rare_by_type"),
        ("exports", "audit_rare_by_type"),
        ("searches_returning", "audit_event_search_returned_gin"),
        ("access_history", "audit_event_child_ids_gin"),
        ("user_activity", "audit_by_username"),
        ("activity_recent", "audit_by_actor"),
        ("misuse_lookups", "audit_event_occurred_brin"),
    ],
)
def test_each_read_of_the_log_uses_its_index(busy_log, name, index):
    if connection.vendor != "postgresql":
        pytest.skip("the indexes checked here are PostgreSQL's")
    period = selectors.Period(since=busy_log - DAY, until=busy_log + DAY)
    user3 = AuditEvent.objects.filter(actor_username="user3").exclude(actor_user_id=None)[0].actor_user_id
    reads = {
        "break_glass": lambda: list(selectors.break_glass_uses(period=period)),
        "exports": lambda: list(selectors.exports(period=period)),
        "searches_returning": lambda: list(selectors.searches_returning(child_id="CP5", period=period)),
        "access_history": lambda: list(selectors.child_access_history(child_id="CP4", period=period)),
        "user_activity": lambda: list(selectors.user_activity(username="user3", period=period)),
        "activity_recent": lambda: selectors.activity_recent(user_id=user3 or 0, username="user3"),
        "misuse_lookups": lambda: list(misuse._lookups(busy_log - DAY, busy_log + DAY)),
    }
    plan = _plan_of_each_read(reads[name])
    assert index in plan, plan
    assert "Seq Scan" not in plan, plan


def test_the_dropped_indexes_are_gone_and_views_skip_the_partial_ones():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's catalogue")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_auditevent' ORDER BY 1"
        )
        indexes = dict(cursor.fetchall())
    assert "audit_by_type" not in indexes and "audit_event_returned_ids_gin" not in indexes
    assert "WHERE" in indexes["audit_rare_by_type"] and "WHERE" in indexes["audit_event_search_returned_gin"]
    assert "brin" in indexes["audit_event_occurred_brin"]
