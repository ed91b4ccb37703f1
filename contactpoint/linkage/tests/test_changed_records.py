"""A record a source changes is linked on its new values, and a merge moves only what it merges.

A source that corrects a record filed against the wrong child sends values that name another
child: the record must leave, or the other child's values show under this one. A merge or an
unmerge materialises the records it moves and no others: a record a feed changed is materialised
once a run has decided where its new values belong.
"""

import pytest

from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage.models import ChildMerge, How, RecordLink, ReviewItem, ReviewStatus
from contactpoint.linkage.services import children_merge, link_run, merge_undo
from contactpoint.records import sealed
from contactpoint.records.models import Child, ChildName

from .helpers import child_of, load, person

pytestmark = pytest.mark.django_db

NHS = "9434765919"
ZARA = dict(
    given_name="Zara",
    family_name="Ali",
    date_of_birth="2010-10-10",
    address_line_1="3 Elm Street",
    town="Bradford",
    postcode="BD1 1AA",
    nhs_number=NHS,
)
NOOR = dict(
    given_name="Noor",
    family_name="Begum",
    date_of_birth="2018-02-02",
    address_line_1="9 Hill Top",
    town="Hull",
    postcode="HU1 1AA",
)
TOMASZ = dict(
    given_name="Tomasz",
    family_name="Nowak",
    gender="male",
    date_of_birth="2012-05-05",
    address_line_1="1 Canal Side",
    town="York",
    postcode="YO1 1AA",
)


def _names(child: Child) -> set[str]:
    live = ChildName.objects.filter(child=child, superseded_at__isnull=True)
    return {row["given_name"] for row in sealed.values_opened(live, "is_chosen")}


def _record(source: str, srid: str) -> SourceRecord:
    return SourceRecord.objects.get(source__code=source, source_record_id=srid)


def _amelia_twice_and_zara(tmp_path) -> tuple[Child, Child]:
    load(tmp_path, "gp_registration", [person("G1"), person("G2", **ZARA)])
    load(tmp_path, "child_benefit", [person("C1")])
    link_run()
    amelia, zara = child_of("gp_registration", "G1"), child_of("gp_registration", "G2")
    assert child_of("child_benefit", "C1") == amelia != zara
    return amelia, zara


def test_a_record_corrected_to_another_childs_values_moves_to_that_child(tmp_path):
    amelia, zara = _amelia_twice_and_zara(tmp_path)
    load(tmp_path, "child_benefit", [person("C1", **ZARA)])  # it was filed against the wrong child
    run = link_run()
    assert run.kind == "incremental"
    assert child_of("child_benefit", "C1") == zara
    history = RecordLink.objects.filter(record=_record("child_benefit", "C1")).latest("at", "pk")
    assert (history.previous_child_id, history.child_id, history.how, history.run_id) == (
        amelia.pk,
        zara.pk,
        How.AUTO,
        run.pk,
    )
    assert history.evidence is not None and history.model_version
    assert _names(amelia) == {"Amelia"} and "Zara" in _names(zara)
    assert not Child.objects.filter(merged_into__isnull=False).exists()  # Amelia keeps G1, and her ID
    assert not SourceRecord.objects.filter(needs_linking=True).exists()


def test_a_record_corrected_to_match_nobody_gets_a_child_of_its_own(tmp_path):
    amelia, zara = _amelia_twice_and_zara(tmp_path)
    load(tmp_path, "child_benefit", [person("C1", **NOOR)])
    link_run()
    noor = child_of("child_benefit", "C1")
    assert noor not in (amelia, zara)
    assert list(SourceRecord.objects.filter(child=amelia).values_list("source_record_id", flat=True)) == [
        "G1"
    ]
    assert _names(amelia) == {"Amelia"} and _names(noor) == {"Noor"}


def test_a_corrected_typo_stays_with_its_child(tmp_path):
    amelia, _ = _amelia_twice_and_zara(tmp_path)
    load(tmp_path, "child_benefit", [person("C1", family_name="Kahn")])
    link_run()
    assert child_of("child_benefit", "C1") == amelia
    assert Child.objects.count() == 2


def test_a_childs_only_record_corrected_to_another_child_retires_the_emptied_child(tmp_path):
    amelia, zara = _amelia_twice_and_zara(tmp_path)
    load(tmp_path, "gp_registration", [person("G2")])  # Zara's one record was Amelia's all along
    run = link_run()
    assert child_of("gp_registration", "G2") == amelia
    zara.refresh_from_db()
    assert zara.merged_into == amelia  # as a full re-link retires a child it empties: the ID resolves
    merge = ChildMerge.objects.get(merged=zara)
    assert (merge.survivor_id, merge.record_ids) == (amelia.pk, [_record("gp_registration", "G2").pk])
    assert str(run.pk) in merge.reason
    assert "Zara" not in _names(amelia)


def test_a_childs_only_record_corrected_to_match_nobody_keeps_its_child(tmp_path):
    _, zara = _amelia_twice_and_zara(tmp_path)
    load(tmp_path, "gp_registration", [person("G2", **NOOR)])
    link_run()
    assert child_of("gp_registration", "G2") == zara
    assert Child.objects.count() == 2 and not Child.objects.filter(merged_into__isnull=False).exists()
    assert _names(zara) == {"Noor"}


def test_a_record_leaving_its_child_never_joins_one_a_person_kept_apart(tmp_path):
    amelia, zara = _amelia_twice_and_zara(tmp_path)
    lo, hi = sorted([amelia, zara], key=lambda c: c.pk)
    ReviewItem.objects.create(
        child_a=lo,
        child_b=hi,
        record_a=SourceRecord.objects.filter(child=lo).first(),
        record_b=SourceRecord.objects.filter(child=hi).first(),
        evidence=0.0,
        weights={},
        reason="checked",
        model_version="",
        status=ReviewStatus.KEPT_APART,
    )
    load(tmp_path, "gp_registration", [person("G2")])  # now Amelia's values, with nothing else in Zara
    link_run()
    assert child_of("gp_registration", "G2") == zara
    assert not Child.objects.filter(merged_into__isnull=False).exists()


def _three_children(tmp_path) -> tuple[Child, Child, Child]:
    load(tmp_path, "gp_registration", [person("G1")])
    load(tmp_path, "child_benefit", [person("C1", **NOOR)])
    load(tmp_path, "community_health", [person("H1", **TOMASZ), person("H2", **TOMASZ)])
    link_run()
    children = (
        child_of("gp_registration", "G1"),
        child_of("child_benefit", "C1"),
        child_of("community_health", "H1"),
    )
    assert len(set(children)) == 3
    return children


def test_a_merge_leaves_a_record_a_feed_changed_for_the_next_run(tmp_path):
    amelia, noor, tomasz = _three_children(tmp_path)
    load(tmp_path, "gp_registration", [person("G1", given_name="Emilia")])
    merge = children_merge(survivor=noor, merged=tomasz, reason="same child")
    assert _record("gp_registration", "G1").needs_linking  # not the merge's to decide
    assert _names(amelia) == {"Amelia"}  # its new values wait for a run's decision
    merge_undo(merge=ChildMerge.objects.get(pk=merge.pk), reason="different children")
    assert _record("gp_registration", "G1").needs_linking and _names(amelia) == {"Amelia"}
    link_run()
    assert child_of("gp_registration", "G1") == amelia and _names(amelia) == {"Emilia"}
    assert not SourceRecord.objects.filter(needs_linking=True).exists()


def test_a_merged_record_a_feed_changed_keeps_its_flag(tmp_path):
    _, noor, tomasz = _three_children(tmp_path)
    load(tmp_path, "community_health", [person("H1", **(TOMASZ | {"address_line_1": "2 Canal Side"}))])
    children_merge(survivor=noor, merged=tomasz, reason="same child")
    assert child_of("community_health", "H1") == child_of("community_health", "H2") == noor
    assert _record("community_health", "H1").needs_linking  # changed: the next run decides it
    assert not _record("community_health", "H2").needs_linking  # moved as it was decided: settled
    assert "Tomasz" in _names(noor)
