"""Verifying by checkpoint segments gives the same answer as one walk from the start."""

import io
import os

import pytest
from django.core.management import call_command
from django.db import connection

from contactpoint.audit.models import AuditSeal, EventType
from contactpoint.audit.services import audit_record, chain_seal
from contactpoint.audit.tests.test_chain import NOW, raw
from contactpoint.audit.verify import Segment, plan_segments, verify_log


def build_log(runs: int = 4, per_run: int = 3) -> list[AuditSeal]:
    for run in range(runs):
        for i in range(per_run):
            audit_record(event_type=EventType.SEARCH, username=f"u{run}-{i}", details={"criteria": {"n": i}})
        chain_seal(grace=NOW)
    return list(AuditSeal.objects.order_by("position"))


@pytest.mark.django_db
def test_segments_start_at_checkpoints_and_cover_the_chain():
    seals = build_log()
    segments = plan_segments(4)
    assert [(s.after, s.through) for s in segments] == [(0, 3), (3, 6), (6, 9), (9, None)]
    assert segments[1].start_hash == seals[2].entry_hash
    assert plan_segments(1) == [Segment(0, None, segments[0].start_hash)]


@pytest.mark.django_db
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_an_intact_log_verifies_in_segments(workers):
    build_log()
    verdict = verify_log(workers=workers)
    assert (verdict.intact, verdict.events_checked) == (True, 12)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        ("UPDATE audit_auditevent SET reason = 'x' WHERE id = {e8}", "position 8"),
        ("DELETE FROM audit_auditseal WHERE position = 6", "position 6"),
        ("DELETE FROM audit_auditseal WHERE position = 11", "expected position 11"),
        ("UPDATE audit_auditcheckpoint SET entry_hash = 'f' WHERE position = 6", "position 6"),
    ],
)
def test_tampering_is_named_the_same_way_in_segments(tamper, expected):
    seals = build_log()
    raw(tamper.format(e8=seals[7].event_id))
    sequential, segmented = verify_log(), verify_log(workers=2)
    assert expected in segmented.problems[0] and expected in sequential.problems[0]
    assert len(segmented.problems) == len(sequential.problems) == 1


@pytest.mark.django_db
def test_the_command_takes_a_worker_count():
    build_log()
    out = io.StringIO()
    call_command("verify_audit", "--workers", "2", stdout=out)
    assert "intact: 12 events" in out.getvalue()
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="at least 1"):
        call_command("verify_audit", "--workers", "0")


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_worker_processes_each_with_their_own_connection_find_the_same_first_problem():
    seals = build_log(runs=6)
    verdict = verify_log(workers=2)
    assert verdict.intact and verdict.events_checked == 18
    assert verdict.processes and os.getpid() not in verdict.processes  # checked in worker processes
    raw("UPDATE audit_auditevent SET actor_username = 'someone else' WHERE id = %s", [seals[13].event_id])
    assert verify_log(workers=2).problems == [
        f"position 14 (event {seals[13].event_id}): the event's content has been altered"
    ]
    assert connection.vendor == "postgresql"
