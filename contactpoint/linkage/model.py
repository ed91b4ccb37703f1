"""The match model: the comparisons, each level written once for SQL and once for Python.

Splink evaluates the SQL side over millions of pairs (full linkage, on DuckDB or Spark); the
Python side scores a handful of candidates in-process (incremental linkage and search), where
generating SQL per record would cost far too much. A test runs both sides over the same pairs and
fails if any pair lands on different levels, so the two cannot drift apart.

Review this module as you would a clinical rule: a level added or reordered changes who is
merged with whom. The trained weights live in a versioned JSON artifact (`artifacts/`), never here.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein
from splink import block_on
from splink.internals.comparison_level_creator import ComparisonLevelCreator

from .features import Features

NAME_SIMILARITY = 0.92  # Jaro-Winkler; typos in children's names, well above sibling pairs
DOB_WEEK = 7  # a date keyed a day or two out; siblings other than multiple births are months apart

Predicate = Callable[[Features, Features], bool]


@dataclass(frozen=True)
class Level:
    label: str
    sql: ComparisonLevelCreator
    test: Predicate
    tf_column: str | None = None


@dataclass(frozen=True)
class Comparison:
    name: str
    null: tuple[str, ...]  # unknown when all of these are missing on either side
    levels: tuple[Level, ...]

    def level_of(self, left: Features, right: Features) -> int:
        """Index into `levels` (0-based), or -1 for the null level.

        Plain loops, no generators: a search scores a few dozen pairs on eight comparisons each,
        and building generator objects was most of this function's cost."""
        for side in (left, right):
            for column in self.null:
                if side[column] is not None:  # type: ignore[literal-required]
                    break
            else:
                return -1  # every null column missing on this side
        for index, level in enumerate(self.levels):
            if level.test(left, right):
                return index
        return len(self.levels)  # the else level

    def to_splink(self) -> cl.CustomComparison:
        null_sql = " OR ".join(
            "(" + " AND ".join(f"{c}_{side} IS NULL" for c in self.null) + ")" for side in "lr"
        )
        levels: list[ComparisonLevelCreator | dict[str, Any]] = [
            cll.CustomLevel(null_sql, label_for_charts="unknown").configure(is_null_level=True)
        ]
        for level in self.levels:
            creator = level.sql
            if level.tf_column:
                creator = creator.configure(tf_adjustment_column=level.tf_column)
            levels.append(creator.configure(label_for_charts=level.label))
        levels.append(cll.ElseLevel().configure(label_for_charts="different"))
        return cl.CustomComparison(levels, output_column_name=self.name)


def _eq(column: str) -> Predicate:
    return lambda a, b: a[column] is not None and a[column] == b[column]  # type: ignore[literal-required]


def _eq_sql(column: str) -> ComparisonLevelCreator:
    return cll.ExactMatchLevel(column)


def _overlap(column: str) -> Predicate:
    return lambda a, b: bool(a[column] and b[column] and not set(a[column]).isdisjoint(b[column]))  # type: ignore[literal-required]


def _similar(column: str) -> Predicate:
    def test(a: Features, b: Features) -> bool:
        x, y = a[column], b[column]  # type: ignore[literal-required]
        return bool(x and y) and JaroWinkler.similarity(x, y) >= NAME_SIMILARITY

    return test


def _both(*tests: Predicate) -> Predicate:
    return lambda a, b: all(t(a, b) for t in tests)


def _dob_one_off(a: Features, b: Features) -> bool:
    return bool(a["dob"] and b["dob"]) and Levenshtein.distance(a["dob"], b["dob"]) <= 1  # type: ignore[arg-type]


def _one_slip(column: str) -> Predicate:
    """One character added, dropped, changed or two adjacent swapped ("AJCK" for "JACK")."""

    def test(a: Features, b: Features) -> bool:
        x, y = a[column], b[column]  # type: ignore[literal-required]
        return bool(x and y) and DamerauLevenshtein.distance(x, y) <= 1

    return test


def _dob_within_week(a: Features, b: Features) -> bool:
    if not (a["dob"] and b["dob"]):
        return False
    gap = datetime.date.fromisoformat(a["dob"]) - datetime.date.fromisoformat(b["dob"])
    return abs(gap.days) <= DOB_WEEK


def _dob_swapped(a: Features, b: Features) -> bool:
    return a["dob"] is not None and a["dob"] in (b["dob_swapped"],)


def _carers_name(a: Features, b: Features) -> bool:
    """One record files the child under a family name the other gives for one of the child's carers
    (child benefit is indexed by the claimant, who may not share the child's surname)."""
    return any(
        x["family"] is not None and x["family"] in (y["carer_families"] or ()) for x, y in ((a, b), (b, a))
    )


def _transposed(a: Features, b: Features) -> bool:
    return a["given"] is not None and a["given"] == b["family"] and a["family"] == b["given"]


COMPARISONS: tuple[Comparison, ...] = (
    Comparison(
        "given_name",
        ("given",),
        (
            Level("exact", _eq_sql("given"), _eq("given"), tf_column="given"),
            Level("nickname", cll.ArrayIntersectLevel("given_aliases", 1), _overlap("given_aliases")),
            Level("similar", cll.JaroWinklerLevel("given", NAME_SIMILARITY), _similar("given")),
            Level("one typing slip", cll.DamerauLevenshteinLevel("given", 1), _one_slip("given")),
            Level("sounds alike", _eq_sql("given_sound"), _eq("given_sound")),
            Level(
                "given and family transposed",
                cll.CustomLevel("given_l = family_r AND family_l = given_r"),
                _transposed,
            ),
        ),
    ),
    Comparison(
        "family_name",
        ("family",),
        (
            Level("exact", _eq_sql("family"), _eq("family"), tf_column="family"),
            Level("former name", cll.ArrayIntersectLevel("families", 1), _overlap("families")),
            Level(
                "a carer's family name",
                cll.CustomLevel(
                    "array_contains(carer_families_r, family_l) OR array_contains(carer_families_l, family_r)"
                ),
                _carers_name,
            ),
            Level("similar", cll.JaroWinklerLevel("family", NAME_SIMILARITY), _similar("family")),
            Level("sounds alike", _eq_sql("family_sound"), _eq("family_sound")),
        ),
    ),
    Comparison(
        "date_of_birth",
        ("dob",),
        (
            Level("exact", _eq_sql("dob"), _eq("dob")),
            Level("day and month swapped", cll.CustomLevel("dob_l = dob_swapped_r"), _dob_swapped),
            Level("one character different", cll.LevenshteinLevel("dob", 1), _dob_one_off),
            Level(
                "within a week",
                cll.AbsoluteDateDifferenceLevel(
                    "dob", input_is_string=True, threshold=DOB_WEEK, metric="day"
                ),
                _dob_within_week,
            ),
        ),
    ),
    Comparison("gender", ("gender",), (Level("exact", _eq_sql("gender"), _eq("gender")),)),
    Comparison(
        "location",
        ("postcode", "address"),
        (
            Level(
                "same postcode and address",
                cll.CustomLevel("postcode_l = postcode_r AND address_l = address_r"),
                _both(_eq("postcode"), _eq("address")),
            ),
            Level("same postcode", _eq_sql("postcode"), _eq("postcode")),
            Level(
                "same address and district",
                cll.CustomLevel("address_l = address_r AND district_l = district_r"),
                _both(_eq("address"), _eq("district")),
            ),
            Level("same district", _eq_sql("district"), _eq("district")),
        ),
    ),
    Comparison("nhs_number", ("nhs",), (Level("exact", _eq_sql("nhs"), _eq("nhs")),)),
    Comparison("upn", ("upn",), (Level("exact", _eq_sql("upn"), _eq("upn")),)),
)

# Pairs Splink scores in a full run. Every rule keeps blocks small at national volume (a date of
# birth alone would pair ~400 records a day with each other); together they still catch a typo in
# any one field. The in-process candidate search uses the same keys (see `candidate_keys`).
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("nhs",),
    ("upn",),
    ("dob", "family_sound"),
    ("dob", "given_sound"),
    ("dob", "district"),
    ("family", "given"),
    ("postcode", "given_sound"),
)


def blocking_rules() -> list:
    return [block_on(*columns) for columns in BLOCKING_KEYS]


def candidate_keys(f: Features) -> list[str]:
    """One string per blocking rule the record can take part in, for a database index."""
    keys = []
    for number, columns in enumerate(BLOCKING_KEYS):
        values = [f[c] for c in columns]  # type: ignore[literal-required]
        if all(values):  # every blocking feature is a string (a generator per key cost more)
            keys.append(f"{number}:" + "|".join(values))  # type: ignore[arg-type]
    return keys


def splink_settings(
    *, prior: float = 1e-6, extra_columns: list[str] | None = None, dialect: str = "duckdb"
) -> dict:
    """The Splink settings for this model, before training (SQL written for `dialect`)."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[c.to_splink() for c in COMPARISONS],
        blocking_rules_to_generate_predictions=blocking_rules(),
        probability_two_random_records_match=prior,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["source", *(extra_columns or [])],
    ).create_settings_dict(sql_dialect_str=dialect)


TRAINED_KEYS = ("m_probability", "u_probability", "tf_adjustment_column", "tf_adjustment_weight")


def trained_settings(document: dict, dialect: str) -> dict:
    """A saved model for another SQL dialect: the levels' SQL regenerated, the trained values kept.

    Splink saves each level as SQL text in the dialect it was trained on; Spark needs its own
    functions (its Jaro-Winkler is a UDF), so the levels are rebuilt from this module.
    """
    saved = document["splink"]
    if dialect == saved.get("sql_dialect", "duckdb"):
        return saved
    fresh = splink_settings(prior=saved["probability_two_random_records_match"], dialect=dialect)
    for ours, theirs in zip(fresh["comparisons"], saved["comparisons"], strict=True):
        for level, trained in zip(ours["comparison_levels"], theirs["comparison_levels"], strict=True):
            level.update({k: trained[k] for k in TRAINED_KEYS if k in trained})
    return fresh
