"""Key rotation: the newest key signs, every key in the ring still verifies what it signed."""

import io

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from contactpoint.audit import keys
from contactpoint.audit.models import AuditCheckpoint, AuditEvent, EventType
from contactpoint.audit.services import audit_record, chain_seal
from contactpoint.audit.tests.test_chain import NOW, first_problem, raw
from contactpoint.audit.verify import verify_log

pytestmark = pytest.mark.django_db
OLD, NEW = "11" * 32, "22" * 32


def record(n: int, name: str) -> None:
    for i in range(n):
        audit_record(event_type=EventType.VIEW, username=f"{name}{i}", reason="referral")
    chain_seal(grace=NOW)


@pytest.fixture
def rotated(settings):
    settings.CONTACTPOINT_AUDIT_KEY = OLD
    record(3, "before")
    settings.CONTACTPOINT_AUDIT_KEY = f"{OLD},{NEW}"
    record(3, "after")
    return settings


def test_the_newest_key_signs_and_older_keys_still_verify(rotated):
    old_id, new_id = keys.key_id_of(bytes.fromhex(OLD)), keys.key_id_of(bytes.fromhex(NEW))
    assert (
        list(AuditEvent.objects.order_by("id").values_list("key_id", flat=True))
        == [old_id] * 3 + [new_id] * 3
    )
    assert list(AuditCheckpoint.objects.order_by("position").values_list("key_id", flat=True)) == [
        old_id,
        new_id,
    ]
    assert verify_log().intact
    out = io.StringIO()
    call_command("audit_keys", stdout=out)
    assert f"{new_id} (signs)" in out.getvalue() and old_id in out.getvalue() and OLD not in out.getvalue()


def test_a_key_removed_from_the_ring_is_named(rotated):
    rotated.CONTACTPOINT_AUDIT_KEY = NEW
    problem = first_problem()
    assert problem.startswith("position 1") and "not in the audit keyring" in problem


def test_relabelling_an_event_with_another_key_is_caught(rotated):
    event = AuditEvent.objects.order_by("id").first()
    raw(
        "UPDATE audit_auditevent SET key_id = %s WHERE id = %s",
        [keys.key_id_of(bytes.fromhex(NEW)), event.pk],
    )
    assert "altered" in first_problem()


def test_events_from_before_the_keyring_verify_with_the_oldest_key(rotated):
    raw("UPDATE audit_auditevent SET key_id = '' WHERE actor_username LIKE 'before%%'")
    assert verify_log().intact
    raw("UPDATE audit_auditevent SET key_id = '' WHERE actor_username = 'after0'")
    assert "position 4" in first_problem()


def test_a_key_file_lists_keys_oldest_first_with_comments(settings, tmp_path):
    ring = tmp_path / "audit_keys"
    ring.write_text(f"# rotated 2026-11-01\n{OLD}\n\n{NEW}  # current\n")
    settings.CONTACTPOINT_AUDIT_KEY, settings.CONTACTPOINT_AUDIT_KEY_FILE = "", str(ring)
    assert keys.key_id() == keys.key_id_of(bytes.fromhex(NEW))
    assert set(keys.keyring().keys) == {keys.key_id_of(bytes.fromhex(k)) for k in (OLD, NEW)}


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ("zz" * 32, "entry 1 is not a hex key"),
        (f"{OLD},abcd", "entry 2 is shorter than 32 bytes"),
        (" , ", "holds no key"),
    ],
)
def test_a_bad_keyring_stops_with_a_clear_error(settings, configured, message):
    settings.CONTACTPOINT_AUDIT_KEY = configured
    with pytest.raises(ImproperlyConfigured, match=message):
        keys.key_id()


def test_audit_keys_new_prints_a_fresh_key_to_append(settings):
    out = io.StringIO()
    call_command("audit_keys", "--new", stdout=out)
    fresh = out.getvalue().strip().splitlines()[-1]
    assert len(bytes.fromhex(fresh)) == 32 and fresh not in (OLD, NEW)
