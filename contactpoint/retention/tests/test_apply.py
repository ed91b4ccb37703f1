"""Archiving on the 18th birthday, to 25 with consent, a year after death; destruction six years on."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from contactpoint.audit.models import AuditEvent
from contactpoint.feeds.models import SourceRecord
from contactpoint.feeds.tests.helpers import opened
from contactpoint.linkage.models import CandidateKey, RecordLink
from contactpoint.records.models import Child, ChildBirthDate
from contactpoint.retention.crypto import KeyDestroyed, data_key, data_key_ensure
from contactpoint.retention.models import ChildRetention, Destruction, RetentionState
from contactpoint.retention.services import child_death_record, retention_apply, retention_consent_record
from contactpoint.retention.tasks import apply_retention_task

from .helpers import EIGHTEENTH, child, given_names, index, leeds_team

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)


@pytest.fixture
def world(tmp_path):
    index(tmp_path)


def state(srid):
    return ChildRetention.objects.filter(child=child(srid)).first()


def retention_events():
    return [e for e in AuditEvent.objects.order_by("id") if e.details.get("retention")]


def test_archived_on_the_18th_birthday_and_not_a_day_before(world):
    assert retention_apply(today=EIGHTEENTH - DAY).decisions == []
    report = retention_apply(today=EIGHTEENTH)
    assert [(d.contactpoint_id, d.action, d.basis) for d in report.decisions] == [
        (child("G1").contactpoint_id, "archive", "age_18")
    ]
    ivy = state("G1")
    assert (ivy.state, ivy.archived_on, ivy.archive_basis) == (RetentionState.ARCHIVED, EIGHTEENTH, "age_18")
    [event] = retention_events()
    assert event.child_ids == [child("G1").contactpoint_id]
    assert event.details["basis"] == "age_18"


def test_running_again_or_late_changes_nothing_more(world):
    retention_apply(today=EIGHTEENTH + datetime.timedelta(days=40))
    assert state("G1").archived_on == EIGHTEENTH  # the policy's date, not the run's
    events = len(retention_events())
    assert retention_apply(today=EIGHTEENTH + datetime.timedelta(days=41)).decisions == []
    assert len(retention_events()) == events


def test_consent_keeps_a_care_leaver_live_to_25(world):
    retention_apply(today=EIGHTEENTH)
    assert state("G2") is None  # consent came with the feed: still live
    report = retention_apply(today=datetime.date(2035, 5, 1))
    assert [(d.action, d.basis) for d in report.decisions if d.child_id == child("G2").pk] == [
        ("archive", "age_25")
    ]


def test_consent_recorded_in_the_index_counts_and_nonsense_is_refused(world):
    actor = leeds_team()
    with pytest.raises(ValueError, match="not a retention consent"):
        retention_consent_record(actor=actor, child=child("G1"), consent="because")
    assert state("G1") is None  # nothing half-written
    retention_consent_record(actor=actor, child=child("G1"), consent="special_educational_needs")
    assert retention_apply(today=EIGHTEENTH).decisions == []


def test_after_a_death_live_one_year_then_archived(world):
    rosa = child("G3")
    child_death_record(actor=leeds_team(), child=rosa, died_on=datetime.date(2026, 1, 10), source="Registrar")
    assert retention_apply(today=datetime.date(2027, 1, 9)).decisions == []
    [decision] = retention_apply(today=datetime.date(2027, 1, 10)).decisions
    assert (decision.child_id, decision.basis) == (rosa.pk, "after_death")


def test_destroyed_six_years_after_archiving_and_nothing_of_it_is_left(world):
    ivy = child("G1")
    ivy_id, ivy_pk = ivy.contactpoint_id, ivy.pk
    data_key_ensure(child_id=ivy_pk)
    retention_apply(today=EIGHTEENTH)
    assert retention_apply(today=datetime.date(2034, 4, 30)).decisions == []

    report = retention_apply(today=datetime.date(2034, 5, 1))
    assert [(d.contactpoint_id, d.action) for d in report.decisions] == [(ivy_id, "destroy")]
    assert not Child.objects.filter(pk=ivy_pk).exists()
    assert "Ivy" not in given_names()
    assert "Ivy" not in {r.given_name for r in opened(SourceRecord.objects.all())}
    assert not CandidateKey.objects.filter(child_id=ivy_pk).exists()
    assert not RecordLink.objects.filter(child_id=ivy_pk).exists()
    with pytest.raises(KeyDestroyed):
        data_key(child_id=ivy_pk)
    ledger = Destruction.objects.get(contactpoint_id=ivy_id)
    assert ledger.archived_on == EIGHTEENTH
    assert ledger.rows["feeds.SourceRecord"] == 2 and ledger.key_id
    assert retention_events()[-1].details["retention"] == "destroy"
    # The other children are untouched.
    assert sorted(given_names()) == ["Otto", "Rosa"]


def test_simulate_reports_exactly_what_a_run_would_do_and_changes_nothing(world):
    retention_apply(today=EIGHTEENTH)
    before = (Child.objects.count(), ChildBirthDate.objects.count(), AuditEvent.objects.count())
    simulated = retention_apply(today=datetime.date(2034, 5, 1), simulate=True)
    assert (Child.objects.count(), ChildBirthDate.objects.count(), AuditEvent.objects.count()) == before
    real = retention_apply(today=datetime.date(2034, 5, 1))
    assert simulated.decisions == real.decisions
    assert simulated.rows == real.rows and simulated.rows


def test_the_command_and_the_task(world):
    out = io.StringIO()
    call_command("apply_retention", "--simulate", "--today", EIGHTEENTH.isoformat(), stdout=out)
    assert "Would archive 1 and destroy 0" in out.getvalue()
    assert child("G1").contactpoint_id in out.getvalue()
    assert not ChildRetention.objects.exists()
    with pytest.raises(CommandError, match="not a date"):
        call_command("apply_retention", "--today", "18th May")
    result = apply_retention_task.enqueue(today=EIGHTEENTH.isoformat())
    assert result.return_value == {"archived": 1, "destroyed": 0}
    assert state("G1").state == RetentionState.ARCHIVED
