"""The audit log detects any edit, deletion, insertion or reordering, and refuses changes on PostgreSQL."""

import datetime
import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from contactpoint.audit.models import AuditCheckpoint, AuditEvent, AuditSeal, EventType
from contactpoint.audit.services import GENESIS, audit_record, canonical, chain_hash, chain_seal
from contactpoint.audit.verify import verify_log

pytestmark = pytest.mark.django_db
NOW = datetime.timedelta(0)


@pytest.fixture
def log():
    for i in range(6):
        audit_record(event_type=EventType.SEARCH, username=f"user{i}", details={"n": i}, child_ids=[f"CP{i}"])
    assert chain_seal(grace=NOW) == 6
    for i in range(6, 9):
        audit_record(event_type=EventType.VIEW, username=f"user{i}", reason="referral")
    assert chain_seal(grace=NOW) == 3
    assert verify_log().intact
    return list(AuditSeal.objects.order_by("position"))


def raw(sql: str, params=()) -> None:
    """Write as an attacker with database rights would, past the append-only trigger on PostgreSQL."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def first_problem() -> str:
    verdict = verify_log()
    assert not verdict.intact
    return verdict.problems[0]


def test_an_intact_log_verifies_and_sealing_again_adds_nothing(log):
    assert chain_seal(grace=NOW) == 0
    verdict = verify_log()
    assert (verdict.intact, verdict.events_checked, verdict.pending) == (True, 9, 0)
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "intact: 9 events" in out.getvalue()


def test_an_edited_event_is_named(log):
    raw("UPDATE audit_auditevent SET reason = 'nothing to see' WHERE id = %s", [log[7].event_id])
    assert first_problem().startswith(
        f"position 8 (event {log[7].event_id}): the event's content has been altered"
    )
    with pytest.raises(CommandError, match="First bad entry: position 8"):
        call_command("verify_audit")


def test_a_deleted_entry_is_found(log):
    raw("DELETE FROM audit_auditseal WHERE position = 4")
    raw("DELETE FROM audit_auditevent WHERE id = %s", [log[3].event_id])
    assert "expected position 4" in first_problem()


def test_a_truncated_tail_is_found(log):
    for seal in log[-2:]:
        raw("DELETE FROM audit_auditseal WHERE id = %s", [seal.pk])
        raw("DELETE FROM audit_auditevent WHERE id = %s", [seal.event_id])
    assert "signed up to 9: entries were deleted" in first_problem()


def test_reordered_entries_are_found(log):
    raw("UPDATE audit_auditseal SET position = -1 WHERE position = 2")
    raw("UPDATE audit_auditseal SET position = 2 WHERE position = 3")
    raw("UPDATE audit_auditseal SET position = 3 WHERE position = -1")
    assert "position 2" in first_problem()


def test_a_forged_event_is_found_sealed_or_not(log):
    forged = {
        "uid": uuid.uuid4(),
        "occurred_at": log[0].event.occurred_at,
        "event_type": "view",
        "outcome": "success",
        "actor_user_id": None,
        "actor_username": "ghost",
        "actor_role": "",
        "actor_organisation": "",
        "actor_local_authority": "",
        "on_behalf_of": "",
        "client": "",
        "reason": "",
        "child_ids": [],
        "details": {},
    }
    AuditEvent.objects.create(mac="0" * 64, **forged)
    assert "forged or altered" in first_problem()


def test_an_event_slipped_in_behind_the_chain_is_found(log):
    audit_record(event_type=EventType.VIEW, username="late")
    late = AuditEvent.objects.get(actor_username="late")
    raw("UPDATE audit_auditevent SET id = %s WHERE id = %s", [log[4].event_id * 1000 + 7, late.pk])
    raw("UPDATE audit_auditevent SET id = 0 WHERE id = %s", [log[4].event_id * 1000 + 7])
    assert "inserted behind the sealed chain" in first_problem()


def test_a_whole_chain_rewrite_without_the_key_is_found(log):
    """Edit an event and recompute every hash after it, as someone without the key could."""
    raw("UPDATE audit_auditevent SET actor_username = 'someone else' WHERE id = %s", [log[2].event_id])
    previous = GENESIS
    for seal in AuditSeal.objects.order_by("position").select_related("event"):
        event = AuditEvent.objects.filter(pk=seal.event_id).values().get()
        entry = chain_hash(previous, canonical(event), seal.event_id)
        raw(
            "UPDATE audit_auditseal SET previous_hash = %s, entry_hash = %s WHERE id = %s",
            [previous, entry, seal.pk],
        )
        previous = entry
    raw("UPDATE audit_auditcheckpoint SET entry_hash = %s WHERE position = 9", [previous])
    problem = first_problem()
    assert "position 3" in problem and "altered" in problem


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_update_and_delete_of_audit_rows(log):
    for sql in (
        "UPDATE audit_auditevent SET reason = 'x'",
        "DELETE FROM audit_auditevent",
        "UPDATE audit_auditseal SET entry_hash = 'x'",
        "DELETE FROM audit_auditcheckpoint",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql)
    assert verify_log().intact


def test_checkpoints_are_signed_with_the_key_outside_the_database(log):
    checkpoint = AuditCheckpoint.objects.order_by("-position").first()
    assert checkpoint.position == 9 and len(checkpoint.signature) == 64
    raw("UPDATE audit_auditcheckpoint SET signature = %s WHERE id = %s", ["0" * 64, checkpoint.pk])
    assert "checkpoint" in first_problem()
