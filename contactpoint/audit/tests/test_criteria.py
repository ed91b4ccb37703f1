"""Search criteria in the log: sealed per year, readable for reports and misuse rules, destroyed on
schedule or at decommissioning while the log still verifies."""

import datetime
import io

import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from contactpoint.audit.criteria import criteria_keys_expire, criteria_open
from contactpoint.audit.models import AuditEvent, CriteriaKey, EventType
from contactpoint.audit.services import audit_record, chain_seal
from contactpoint.audit.verify import verify_log

pytestmark = pytest.mark.django_db
OLD = "11" * 32
NEW = "22" * 32


def _search(family_name: str) -> AuditEvent:
    return audit_record(
        event_type=EventType.SEARCH,
        username="p-383",
        details={"criteria": {"family_name": family_name, "date_of_birth": "2015-03-14"}, "returned_ids": []},
    )


def test_the_log_holds_no_typed_name_yet_reports_can_read_it():
    event = AuditEvent.objects.get(pk=_search("Quennell").pk)
    assert "Quennell" not in str(event.details) and "2015-03-14" not in str(event.details)
    assert event.details["criteria"]["fields"] == ["date_of_birth", "family_name"]
    assert criteria_open(event.details, uid=event.uid) == {
        "family_name": "Quennell",
        "date_of_birth": "2015-03-14",
    }


def test_sealed_criteria_moved_onto_another_event_do_not_open():
    first, second = _search("Quennell"), _search("Tindall")
    with pytest.raises(InvalidTag):  # the cipher's tag binds the criteria to their event
        criteria_open(first.details, uid=second.uid)


def test_a_key_made_in_a_transaction_that_rolled_back_is_never_used():
    with pytest.raises(RuntimeError), transaction.atomic():
        _search("Quennell")
        raise RuntimeError("the search failed after its event was written")
    assert not CriteriaKey.objects.exists()
    event = _search("Tindall")
    assert criteria_open(event.details, uid=event.uid)["family_name"] == "Tindall"


def test_a_years_key_is_destroyed_after_its_retention_and_the_log_still_verifies(settings):
    settings.CONTACTPOINT_AUDIT_CRITERIA_YEARS = 6
    old = _search("Quennell")
    CriteriaKey.objects.filter(key_id=old.details["criteria"]["key"]).update(period="2019")
    now = _search("Tindall")  # this year's key is another
    while chain_seal(grace=datetime.timedelta(0)):
        pass
    assert criteria_keys_expire(today=datetime.date(2025, 12, 31)) == []  # 2019 kept to the end of 2025
    assert criteria_keys_expire(today=datetime.date(2026, 1, 1)) == ["2019"]
    assert criteria_open(old.details, uid=old.uid) is None
    assert criteria_open(now.details, uid=now.uid)["family_name"] == "Tindall"
    assert verify_log().intact


def test_apply_retention_destroys_expired_years_and_simulate_does_not(settings):
    old = _search("Quennell")
    CriteriaKey.objects.filter(key_id=old.details["criteria"]["key"]).update(period="2010")
    out = io.StringIO()
    call_command("apply_retention", "--simulate", "--today", "2026-11-22", stdout=out)
    assert "criteria of 2010: key destroyed" in out.getvalue()
    assert criteria_open(old.details, uid=old.uid) is not None
    call_command("apply_retention", "--today", "2026-11-22", stdout=io.StringIO())
    assert criteria_open(old.details, uid=old.uid) is None


def test_rotation_rewraps_criteria_keys_and_the_old_kek_can_be_retired():
    with override_settings(CONTACTPOINT_DATA_KEK=OLD):
        event = _search("Quennell")
    with override_settings(CONTACTPOINT_DATA_KEK=f"{OLD},{NEW}"):
        out = io.StringIO()
        call_command("rotate_data_keys", stdout=out)
        assert "1 audit search-criteria key(s)" in out.getvalue() and "may be retired" in out.getvalue()
    with override_settings(CONTACTPOINT_DATA_KEK=NEW):
        assert criteria_open(event.details, uid=event.uid)["family_name"] == "Quennell"
