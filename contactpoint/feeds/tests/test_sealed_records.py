"""Feed rows sealed: under their file's load key until linked, then under their child's key; the
load key deleted once no row depends on it; a record moved to another child still opens."""

import datetime

import pytest
from django.db import connection

from contactpoint.feeds.models import FeedFile, FeedFileStatus, LoadKey, SourceRecord, SourceRecordVersion
from contactpoint.feeds.services import feed_load, load_keys_release
from contactpoint.feeds.tests.helpers import EXTRACTED, opened, opened_one, write_csv
from contactpoint.linkage.models import ChildMerge
from contactpoint.linkage.services import children_merge, link_run, merge_undo
from contactpoint.linkage.tests.helpers import load, person
from contactpoint.records.models import Child
from contactpoint.tests.migrating import migrate_to

pytestmark = pytest.mark.django_db

SOURCE = "la_childrens_services"


def _keys(model=SourceRecord) -> list[tuple[int | None, int | None, int | None]]:
    """(child, child whose key sealed it, load key) of each row, in id order."""
    child = "child_id" if model is SourceRecord else "record__child_id"
    return list(model.objects.order_by("pk").values_list(child, "sealed_key", "load_key"))


def _twins(tmp_path):
    load(
        tmp_path,
        SOURCE,
        [
            person("A1", given_name="Orla", family_name="Brennick", date_of_birth="2016-05-01"),
            person("B1", given_name="Tobias", family_name="Quarrie", date_of_birth="2012-11-23"),
        ],
    )


def test_a_record_is_sealed_under_its_files_load_key_until_linked_then_under_its_childs(tmp_path):
    _twins(tmp_path)
    feed_load(  # a later file changes Orla's address: her first account becomes a version
        source_code=SOURCE,
        path=write_csv(
            tmp_path / "later.csv",
            [
                person(
                    "A1", given_name="Orla", family_name="Brennick", date_of_birth="2016-05-01", town="York"
                )
            ],
        ),
        extracted_at=EXTRACTED + datetime.timedelta(days=1),
    )
    (key_1, key_2) = LoadKey.objects.order_by("pk").values_list("pk", flat=True)
    assert _keys() == [(None, None, key_2), (None, None, key_1)]  # Orla rewritten under the later file's
    assert _keys(SourceRecordVersion) == [(None, None, key_2)]
    assert opened_one(source_record_id="A1").town == "York"

    link_run()
    orla, tobias = (opened_one(source_record_id=srid) for srid in ("A1", "B1"))
    assert _keys() == [(orla.child_id, orla.child_id, None), (tobias.child_id, tobias.child_id, None)]
    assert _keys(SourceRecordVersion) == [(orla.child_id, orla.child_id, None)]
    assert (orla.family_name, orla.town, orla.date_of_birth) == (
        "Brennick",
        "York",
        datetime.date(2016, 5, 1),
    )
    assert opened_one(SourceRecordVersion.objects.all()).values["town"] == "Leeds"
    assert not LoadKey.objects.exists()  # released at the end of the link run: nothing depends on them


def test_a_load_key_stays_while_a_row_or_a_load_in_progress_depends_on_it(tmp_path):
    _twins(tmp_path)
    loading = FeedFile.objects.create(
        source=FeedFile.objects.get().source,
        name="x.csv",
        sha256="0" * 64,
        format="csv",
        extracted_at=EXTRACTED,
    )
    assert loading.status == FeedFileStatus.LOADING
    LoadKey.objects.create(file=loading, key_id="k-loading", wrapped=b"-", kek_id="-")
    orphan = LoadKey.objects.create(key_id="k-orphan", wrapped=b"-", kek_id="-")
    assert load_keys_release() == 1  # only the key nothing depends on
    assert not LoadKey.objects.filter(pk=orphan.pk).exists() and LoadKey.objects.count() == 2
    assert load_keys_release() == 0  # idempotent
    assert {r.family_name for r in opened(SourceRecord.objects.all())} == {"Brennick", "Quarrie"}


def test_a_record_moved_to_another_child_opens_before_and_after_it_is_resealed(tmp_path):
    _twins(tmp_path)
    link_run()
    a, b = (Child.objects.get(pk=opened_one(source_record_id=s).child_id) for s in ("A1", "B1"))
    tobias = SourceRecord.objects.get(source_record_id="B1").pk
    # Pointed at another child, not yet re-sealed (as a re-link leaves it until materialisation).
    SourceRecord.objects.filter(pk=tobias).update(child=a)
    assert opened_one(pk=tobias).family_name == "Quarrie"
    SourceRecord.objects.filter(pk=tobias).update(child=b)

    merge = children_merge(survivor=a, merged=b, reason="the same child")
    assert _keys()[1] == (a.pk, a.pk, None)  # re-sealed under the survivor's key
    assert opened_one(pk=tobias).family_name == "Quarrie"
    merge_undo(merge=ChildMerge.objects.get(pk=merge.pk), reason="two children after all")
    assert _keys()[1] == (b.pk, b.pk, None)
    assert opened_one(pk=tobias).given_name == "Tobias"


def _clear(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_the_migration_opens_records_backwards_and_seals_them_again_forwards(tmp_path):
    _twins(tmp_path)
    link_run()
    load(  # Tobias's record changes after linking (a version) and a third record stays unlinked
        tmp_path,
        SOURCE,
        [
            person("B1", given_name="Tobias", family_name="Quarrie", date_of_birth="2012-11-23", town="Hull"),
            person("C1", given_name="Maud", family_name="Evershed", nhs_number="9434765919"),
        ],
    )
    try:
        migrate_to([("feeds", "0003_quarantine_sealed")])
        assert _clear(
            "SELECT source_record_id, family_name, town, nhs_number FROM feeds_sourcerecord ORDER BY 1"
        ) == [
            ("A1", "Brennick", "Leeds", ""),
            ("B1", "Quarrie", "Hull", ""),
            ("C1", "Evershed", "Leeds", "9434765919"),
        ]
        assert "Leeds" in str(_clear('SELECT "values" FROM feeds_sourcerecordversion'))
    finally:
        migrate_to()
    a_child = SourceRecord.objects.get(source_record_id="A1").child_id
    assert _keys()[0] == (a_child, a_child, None)  # linked: under the child's key
    assert _keys()[2][:2] == (None, None) and _keys()[2][2] is not None  # unlinked: a load key
    rows = {r.source_record_id: r for r in opened(SourceRecord.objects.all())}
    assert (rows["B1"].town, rows["C1"].nhs_number, rows["C1"].has_nhs_number) == ("Hull", "9434765919", True)
    assert opened_one(SourceRecordVersion.objects.all()).values["town"] == "Leeds"


def test_a_streamed_read_keeps_only_the_fields_asked_for(tmp_path):
    from contactpoint.records import sealed

    _twins(tmp_path)
    records = SourceRecord.objects.order_by("pk")
    rows = list(sealed.values_iterated(records, "family_name", "source_record_id"))
    assert rows == [
        {"pk": rows[0]["pk"], "family_name": "Brennick", "source_record_id": "A1"},
        {"pk": rows[1]["pk"], "family_name": "Quarrie", "source_record_id": "B1"},
    ]  # no extras, names or birth date left over from the opened blob
