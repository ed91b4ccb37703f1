"""The model's two sides agree, the artifact fits the code, and features behave as documented."""

import datetime
import json
import shutil

import pytest

from contactpoint.linkage import engine
from contactpoint.linkage.cluster import cluster
from contactpoint.linkage.features import aliases, district, features, name_key, swapped
from contactpoint.linkage.frame import frame
from contactpoint.linkage.guard import COMMON_NAME_SHARE, refusal
from contactpoint.linkage.model import COMPARISONS
from contactpoint.linkage.scoring import ARTIFACTS, MatchModel, current_model
from contactpoint.synthetic.population import Population


def _rows(children: int, seed: int) -> list[dict]:
    """Synthetic people with their siblings and twins, as feature rows (two variants each)."""
    rows = []
    people = Population(children=children, seed=seed, as_of=datetime.date(2026, 10, 1)).generate()
    for n, child in enumerate(people):
        carer = child.carers[0].family_name
        for variant in range(2):
            # Every other child benefit record is filed under the carer's surname, and names the carer.
            family = carer if n % 2 and not variant else child.family_name
            rows.append(
                {
                    "pk": 2 * n + variant,
                    "source__code": "gp_registration" if variant else "child_benefit",
                    "given_name": child.given_name
                    if variant
                    else child.given_name[:1] + child.given_name[1:].lower(),
                    "family_name": family,
                    "former_family_name": "",
                    "extras__carers__0__family_name": carer,
                    "date_of_birth": child.dob,
                    "gender": child.gender,
                    "postcode": child.address.postcode,
                    "address_line_1": child.address.line_1,
                    "nhs_number": child.nhs_number if variant else "",
                    "upn": "",
                }
            )
    return rows


def test_python_levels_equal_splink_levels_for_every_scored_pair():
    model = current_model()
    records = frame(_rows(400, seed=21))
    pairs = engine.predict(records, model, model.document)
    by_id = engine._features_by_id(records)
    assert len(pairs) > 300
    mismatched = [
        (a, b)
        for a, b, levels in zip(pairs.id_l, pairs.id_r, pairs.levels, strict=True)
        if model.score(by_id[a], by_id[b]).levels != tuple(levels)
    ]
    assert mismatched == []


def test_a_child_filed_under_a_carers_surname_meets_the_carer_level():
    model = current_model()
    rows = _rows(300, seed=23)
    records = frame(rows)
    pairs = engine.predict(records, model, model.document)
    family = next(i for i, c in enumerate(COMPARISONS) if c.name == "family_name")
    carer_level = [lv.label for lv in COMPARISONS[family].levels].index("a carer's family name")
    assert sum(levels[family] == carer_level for levels in pairs.levels) > 10


def test_python_evidence_equals_splink_evidence():
    model = current_model()
    records = frame(_rows(150, seed=22))
    pairs = engine.predict(records, model, model.document)
    by_id = engine._features_by_id(records)
    for a, b, evidence in zip(pairs.id_l, pairs.id_r, pairs.evidence, strict=True):
        assert model.score(by_id[a], by_id[b]).evidence == pytest.approx(evidence, abs=1e-6)


def test_an_artifact_that_does_not_fit_the_code_is_refused(tmp_path):
    document = json.loads(sorted(ARTIFACTS.glob("model-*.json"))[-1].read_text())
    document["splink"]["comparisons"][0]["comparison_levels"].pop(2)
    with pytest.raises(ValueError, match="Retrain the model"):
        MatchModel(document)


def test_features_normalise_for_matching_only():
    f = features(
        given_name="Zoë",
        family_name="O'Brien-Smith",
        date_of_birth=datetime.date(2015, 3, 4),
        postcode="ls6 2ab",
        address_line_1="12 High St.",
    )
    assert (f["given"], f["family"], f["district"], f["postcode"]) == ("ZOE", "OBRIENSMITH", "LS6", "LS62AB")
    assert (
        f["dob_swapped"] == "2015-04-03" and swapped("2015-03-03") is None and swapped("2015-03-13") is None
    )
    assert district("LS6") == "LS6" and name_key("  ") == ""
    assert "WILLIAM" in set(aliases("BILL")) & set(aliases("WILLIAM"))


def test_the_guard_refuses_twins_and_different_identifiers():
    model = current_model()
    twin_a = features(given_name="Oliver", family_name="Shah", date_of_birth="2019-01-01", postcode="LS6 2AB")
    twin_b = features(given_name="Harry", family_name="Shah", date_of_birth="2019-01-01", postcode="LS6 2AB")
    assert refusal(model.score(twin_a, twin_b).levels).startswith("possible twin")
    one = features(given_name="Amy", family_name="Shah", nhs_number="9434765919")
    other = features(given_name="Amy", family_name="Shah", nhs_number="9434765870")
    assert refusal(model.score(one, other).levels) == "different NHS numbers"
    assert refusal(model.score(one, one).levels) is None


def _namesake_pair(both: dict | None = None, right: dict | None = None):
    """Two records of the commonest name in the model's tables, born the same day, in two towns."""
    model = current_model()
    given = max(model.tf["given"], key=model.tf["given"].__getitem__)
    family = max(model.tf["family"], key=model.tf["family"].__getitem__)
    born = {"given_name": given, "family_name": family, "date_of_birth": "2016-05-04", "gender": "female"}
    here = born | {"postcode": "LS6 2AB", "address_line_1": "1 Oak Road"}
    there = born | {"postcode": "M1 1AA", "address_line_1": "7 Elm Street"}
    return features(**here | (both or {})), features(**there | (both or {}) | (right or {}))


def test_the_guard_sends_common_namesakes_to_review_however_strong_the_score():
    model = current_model().at_volume(1_000_000)
    one, other = _namesake_pair()
    scored = model.score(one, other)
    assert scored.evidence >= model.thresholds.auto  # the score alone would link them
    assert model.name_share(one, other) >= COMMON_NAME_SHARE
    assert refusal(scored.levels, model.name_share(one, other)).startswith("possible namesakes")
    nickname, _ = _namesake_pair({"given_name": "Ollie"})  # a nickname is as alike as the name
    reason = refusal(model.score(nickname, other).levels, model.name_share(nickname, other))
    assert reason.startswith("possible namesakes")


@pytest.mark.parametrize(
    "both,right",
    [
        ({"nhs_number": "9434765919"}, {}),
        ({"upn": "A123456789012"}, {}),
        ({}, {"postcode": "LS6 2AB", "address_line_1": "1 Oak Road"}),
        ({}, {"postcode": "LS6 2AB"}),
        ({}, {"postcode": "LS6 9ZZ"}),
        ({"given_name": "Zephyrine", "family_name": "Quenneville"}, {}),
    ],
    ids=["shared NHS number", "shared UPN", "same home", "same postcode", "same district", "rare name"],
)
def test_the_namesake_guard_stands_aside_for_corroboration_or_a_rare_name(both, right):
    model = current_model().at_volume(1_000_000)
    one, other = _namesake_pair(both, right)
    assert refusal(model.score(one, other).levels, model.name_share(one, other)) is None


def test_a_name_is_as_common_as_the_commoner_side_of_the_pair():
    model = current_model()
    common, rare = _namesake_pair(right={"given_name": "Zephyrine", "family_name": "Quenneville"})
    assert model.name_share(rare) == 0.0 < COMMON_NAME_SHARE <= model.name_share(common)
    assert model.name_share(rare, common) == model.name_share(common)


def test_clusters_never_join_through_a_bridge_record():
    # 1 and 3 conflict; 2 links strongly to both: it must not join them, and stands alone.
    groups, refused = cluster([(1, 2, 30.0), (2, 3, 29.0), (3, 4, 25.0)], lambda a, b: {a, b} == {1, 3})
    assert not any({1, 3} <= set(g) for g in groups)
    assert [2] in groups and refused == [(2, 3, 29.0)]


@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")
def test_the_spark_engine_scores_exactly_as_duckdb(monkeypatch):
    pytest.importorskip("pyspark")
    monkeypatch.setenv("SPARK_SHUFFLE_PARTITIONS", "2")
    monkeypatch.setenv("SPARK_BREAK_LINEAGE", "persist")
    model = current_model()
    records = frame(_rows(100, seed=3))
    on_duckdb = engine.predict(records, model, model.document, "duckdb")
    on_spark = engine.predict(records, model, model.document, "spark")

    def scored(pairs):
        return {(a, b): round(e, 6) for a, b, e in zip(pairs.id_l, pairs.id_r, pairs.evidence, strict=True)}

    assert len(on_duckdb) > 50
    assert scored(on_spark) == scored(on_duckdb)
    assert list(on_spark.sort_values(["id_l", "id_r"]).levels) == list(
        on_duckdb.sort_values(["id_l", "id_r"]).levels
    )
