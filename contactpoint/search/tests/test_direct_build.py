"""The search benchmark's direct build (bench/search_direct.py) streams the population to its
workers: the database it writes for a given size and seed is the one it wrote when the whole
population was generated first. The figures below were taken from that build (same size, seed,
slice size and workers); the ContactPoint IDs and sealed values are random, so what is compared
is which rows exist, their ids, and which child each record is linked to."""

import csv
import hashlib
import sys
from pathlib import Path

import pytest
from django.db import connection

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import search_direct

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the workers write through their own connections
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the direct build COPYs into PostgreSQL"),
]

CHILDREN, SEED = 250, 3


def fingerprint(directory: Path) -> dict[str, object]:
    """Row counts, and digests of the rows' ids relative to the first, and of the people files."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id) FROM records_child")
        first_child = cursor.fetchone()[0]
        cursor.execute("SELECT min(id) FROM feeds_sourcerecord")
        first_record = cursor.fetchone()[0]
        cursor.execute("SELECT id - %s FROM records_child ORDER BY id", [first_child])
        children = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT id - %s, source_record_id, child_id - %s FROM feeds_sourcerecord ORDER BY id",
            [first_record, first_child],
        )
        records = cursor.fetchall()
        cursor.execute("SELECT count(*) FROM linkage_candidatekey")
        keys = cursor.fetchone()[0]
    with (directory / "linked.csv").open(newline="") as handle:
        linked = [row[0] for row in csv.reader(handle)]

    def digest(value: object) -> str:
        return hashlib.sha256(repr(value).encode()).hexdigest()[:16]

    return {
        "children": len(children),
        "records": len(records),
        "keys": keys,
        "child ids": digest(children),
        "records by id": digest([tuple(record) for record in records]),
        "linked people": digest(linked),
        "people file": digest((directory / "children.csv").read_text()),
    }


def test_a_streamed_build_writes_the_rows_the_whole_population_build_wrote(tmp_path, monkeypatch):
    monkeypatch.setattr(search_direct, "BATCH", 100)  # three slices, the last short
    monkeypatch.setattr(search_direct, "IN_FLIGHT", 1)  # the parent waits for a slice to be written

    counts = search_direct.build(tmp_path, CHILDREN, SEED, workers=2)

    assert fingerprint(tmp_path) == EXPECTED
    assert {key: counts[key] for key in ("children", "records", "keys")} == {
        key: EXPECTED[key] for key in ("children", "records", "keys")
    }
    assert not list(tmp_path.glob("part-*"))  # the slices' files were joined


EXPECTED = {  # bench/search_direct.py as of ec1a2da, which generated the whole population first
    "children": 250,
    "records": 674,
    "keys": 8212,
    "child ids": "25b714a934e34269",
    "records by id": "1d32d0f096bf5f19",
    "linked people": "926811fb2455d769",
    "people file": "762de8e0feb5b446",
}
