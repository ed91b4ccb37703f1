"""A feed load that changes a record while a link run works on it: the change is linked, never lost.

Each test lands a real feed load at one point of a run (between reading a record and clearing its
`needs_linking` flag). The change gives the record an NHS number its child's other record does
not have, so the decision made on the old values (together) is wrong for the new ones (apart):
the run must leave the record flagged, and the next run must take it out of that child.
"""

import pytest

from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage import engine, materialise, services
from contactpoint.linkage.flags import needs_linking_clear, seen_of
from contactpoint.linkage.services import link_run
from contactpoint.records.models import ChildIdentifier

from .helpers import child_of, load, person

pytestmark = pytest.mark.django_db

NHS = "9434765919"
OTHER_NHS = "4010232137"


def _during(monkeypatch, tmp_path, owner, name: str) -> list[int]:
    """Make `owner.name` load C1 with a different NHS number the first time it is called, after
    whatever the run read before calling it; returns a list that counts the loads."""
    real = getattr(owner, name)
    landed: list[int] = []

    def with_a_feed_load_first(*args, **kwargs):
        if not landed:
            landed.append(1)
            load(tmp_path, "child_benefit", [person("C1", nhs_number=OTHER_NHS)])
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, with_a_feed_load_first)
    return landed


def _c1() -> SourceRecord:
    return SourceRecord.objects.get(source__code="child_benefit", source_record_id="C1")


def _linked_on_its_new_values(monkeypatch) -> None:
    """The run that raced kept C1 flagged; the next links its new values: apart from G1."""
    assert _c1().needs_linking
    monkeypatch.undo()
    link_run()
    assert not SourceRecord.objects.filter(needs_linking=True).exists()
    assert child_of("child_benefit", "C1") != child_of("gp_registration", "G1")
    held = ChildIdentifier.objects.filter(child=child_of("child_benefit", "C1"), superseded_at__isnull=True)
    assert held.count() == 1  # its new NHS number, materialised with the child it was linked to


def test_a_change_while_a_first_run_scores_is_linked_by_the_next_run(tmp_path, monkeypatch):
    load(tmp_path, "gp_registration", [person("G1", nhs_number=NHS)])
    load(tmp_path, "child_benefit", [person("C1")])
    landed = _during(monkeypatch, tmp_path, engine, "predict")  # the records were read before
    run = link_run()
    assert landed and run.kind == "full"
    _linked_on_its_new_values(monkeypatch)


def test_a_change_while_an_incremental_run_decides_is_linked_by_the_next_run(tmp_path, monkeypatch):
    load(tmp_path, "gp_registration", [person("G1", nhs_number=NHS)])
    link_run()
    load(tmp_path, "child_benefit", [person("C1")])
    landed = _during(monkeypatch, tmp_path, services, "link_one")
    assert link_run().kind == "incremental" and landed
    _linked_on_its_new_values(monkeypatch)


def test_a_change_between_deciding_and_materialising_is_linked_by_the_next_run(tmp_path, monkeypatch):
    load(tmp_path, "gp_registration", [person("G1", nhs_number=NHS)])
    link_run()
    load(tmp_path, "child_benefit", [person("C1")])
    landed = _during(monkeypatch, tmp_path, services, "_pending")
    link_run()
    assert landed
    _linked_on_its_new_values(monkeypatch)


def test_a_change_while_materialising_is_linked_by_the_next_run(tmp_path, monkeypatch):
    load(tmp_path, "gp_registration", [person("G1", nhs_number=NHS)])
    load(tmp_path, "child_benefit", [person("C1")])
    link_run()
    assert child_of("child_benefit", "C1") == child_of("gp_registration", "G1")
    load(tmp_path, "child_benefit", [person("C1", address_line_1="14 Oak Road")])  # still fits: stays
    landed = _during(monkeypatch, tmp_path, materialise.Materialiser, "save")  # after the values' read
    link_run()
    assert landed
    _linked_on_its_new_values(monkeypatch)


def test_a_record_withdrawn_since_it_was_read_keeps_its_flag(tmp_path):
    load(tmp_path, "child_benefit", [person("C1")])
    record = SourceRecord.objects.values("pk", "content_hash", "withdrawn_at").get()
    needs_linking_clear(seen={record["pk"]: seen_of(record)})
    assert not _c1().needs_linking  # cleared where nothing changed
    SourceRecord.objects.update(needs_linking=True)
    SourceRecord.objects.update(withdrawn_at=_c1().asserted_at)  # as a withdrawal leaves it
    needs_linking_clear(seen={record["pk"]: seen_of(record)})
    assert _c1().needs_linking


def test_a_withdrawal_is_settled_by_the_run_that_materialises_it(tmp_path):
    load(tmp_path, "gp_registration", [person("G1", nhs_number=NHS)])
    load(tmp_path, "child_benefit", [person("C1")])
    link_run()
    load(tmp_path, "child_benefit", [person("C1", record_status="withdrawn")])
    assert _c1().needs_linking and _c1().withdrawn_at is not None
    link_run()  # no run links a withdrawn record; materialising it is what the flag asked for
    assert not SourceRecord.objects.filter(needs_linking=True).exists()
