"""The synthetic population: realistic structure, consistent ground truth, reproducible."""

import csv
import datetime
import hashlib
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from stdnum.gb import nhs, upn

from contactpoint.feeds import columns
from contactpoint.synthetic.feeds import FEED_SOURCES, write_population

AS_OF = datetime.date(2026, 10, 1)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    out = tmp_path_factory.mktemp("population")
    manifest = write_population(children=4000, seed=11, out=out, as_of=AS_OF)
    return out, manifest


def test_writes_the_requested_number_of_children(population):
    out, manifest = population
    assert manifest["children"] == 4000
    assert len(read(out / "children.csv")) == 4000


def test_twins_share_a_date_of_birth_household_and_surname_but_not_a_first_name(population):
    out, _ = population
    groups = defaultdict(list)
    for person in read(out / "children.csv"):
        groups[person["birth_group"]].append(person)
    multiples = [g for g in groups.values() if len(g) > 1]
    assert 20 <= sum(len(g) for g in multiples) <= 250  # about 3% of children are twins
    for group in multiples:
        assert len({p["date_of_birth"] for p in group}) == 1
        assert len({p["household_id"] for p in group}) == 1
        assert len({p["family_name"] for p in group}) == 1
        assert len({p["given_name"] for p in group}) == len(group)


def test_households_hold_siblings_at_one_address(population):
    out, _ = population
    households = defaultdict(list)
    for person in read(out / "children.csv"):
        households[person["household_id"]].append(person)
    sizes = Counter(len(members) for members in households.values())
    assert sizes[1] > 0 and sum(count for size, count in sizes.items() if size >= 2) > 0
    for members in households.values():
        assert len({p["postcode"] for p in members}) == 1


def test_ground_truth_covers_every_row_exactly_once(population):
    out, manifest = population
    truth = read(out / "truth.csv")
    keys = [(t["source"], t["source_record_id"]) for t in truth]
    assert len(keys) == len(set(keys))
    people = {p["person_id"] for p in read(out / "children.csv")}
    assert {t["person_id"] for t in truth} <= people
    rows = set()
    for source in FEED_SOURCES:
        for row in read(out / f"{source}.csv"):
            rows.add((source, row["source_record_id"]))
        assert manifest["rows"][source] == sum(1 for s, _ in rows if s == source)
    assert rows == set(keys)


def test_feed_files_use_the_canonical_columns_first(population):
    out, _ = population
    for source in FEED_SOURCES:
        with (out / f"{source}.csv").open(encoding="utf-8") as handle:
            header = next(csv.reader(handle))
        assert tuple(header[: len(columns.CANONICAL)]) == columns.CANONICAL


def test_true_identifiers_are_valid_and_unique(population):
    out, _ = population
    people = read(out / "children.csv")
    numbers = [p["nhs_number"] for p in people]
    assert len(set(numbers)) == len(numbers)
    assert all(nhs.is_valid(n) and n.startswith("99") for n in numbers)
    pupil_numbers = [p["upn"] for p in people if p["upn"]]
    assert len(set(pupil_numbers)) == len(pupil_numbers)
    assert all(upn.is_valid(u) for u in pupil_numbers)


def test_feeds_carry_the_errors_real_feeds_have(population):
    out, _ = population
    people = {p["person_id"]: p for p in read(out / "children.csv")}
    truth = {(t["source"], t["source_record_id"]): t["person_id"] for t in read(out / "truth.csv")}
    found = Counter()
    for source in FEED_SOURCES:
        for row in read(out / f"{source}.csv"):
            person = people[truth[(source, row["source_record_id"])]]
            dob = person["date_of_birth"]
            if row["date_of_birth"] and row["date_of_birth"] != dob:
                y, m, d = dob.split("-")
                found["swapped_dob" if row["date_of_birth"] == f"{y}-{d}-{m}" else "other_dob"] += 1
            if row["given_name"].strip() and row["given_name"].strip() != person["given_name"]:
                found["given_name_differs"] += 1
            if row["nhs_number"] and not nhs.is_valid(row["nhs_number"]):
                found["bad_nhs_check_digit"] += 1
            if row["family_name"].strip().lower() not in (person["family_name"].lower(), ""):
                found["family_name_differs"] += 1
            if source == "gp_registration" and not row["nhs_number"]:
                found["missing_nhs"] += 1
            if row["postcode"] and row["postcode"] != person["postcode"]:
                found["postcode_differs"] += 1
    for kind in (
        "swapped_dob",
        "other_dob",
        "given_name_differs",
        "bad_nhs_check_digit",
        "family_name_differs",
        "missing_nhs",
        "postcode_differs",
    ):
        assert found[kind] > 0, kind


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_same_files_different_seed_different_files(tmp_path):
    write_population(children=500, seed=5, out=tmp_path / "a", as_of=AS_OF)
    write_population(children=500, seed=5, out=tmp_path / "b", as_of=AS_OF)
    write_population(children=500, seed=6, out=tmp_path / "c", as_of=AS_OF)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["children.csv"] != _digest(tmp_path / "c")["children.csv"]


def test_output_does_not_depend_on_the_interpreter_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    write_population(children=300, seed=9, out=tmp_path / "here", as_of=AS_OF)
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": "contactpoint.settings.test"}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "contactpoint.manage",
            "synth",
            "--children",
            "300",
            "--seed",
            "9",
            "--as-of",
            AS_OF.isoformat(),
            "--out",
            str(tmp_path / "there"),
            "-v",
            "0",
        ],
        check=True,
        env=env,
        capture_output=True,
    )
    assert _digest(tmp_path / "here") == _digest(tmp_path / "there")


def test_households_stream_the_children_generate_lists():
    """Seed 2's 1500th child has a sibling after it: the last household is cut to the target."""
    from contactpoint.synthetic.population import Population

    streamed = [
        child
        for household in Population(children=1500, seed=2, as_of=AS_OF).households()
        for child in household
    ]
    listed = Population(children=1500, seed=2, as_of=AS_OF).generate()

    assert streamed == listed
    assert [child.pid for child in streamed] == list(range(1, 1501))
    # the same values as when generate() appended every child to one list (at ec1a2da)
    assert hashlib.sha256(repr(listed).encode()).hexdigest()[:16] == "581315c01faa6de5"
