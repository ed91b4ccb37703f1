"""Full linkage over a features frame: Splink scores the pairs, the guard and clusters decide.

Kept free of the database so the same code runs in benchmarks, in training and in `link`, on
DuckDB by default or on Spark for national volumes (CONTACTPOINT_LINKAGE_ENGINE=spark).
"""

import math
from dataclasses import dataclass

import pandas as pd
from django.conf import settings

from .cluster import Edge, cluster
from .features import FEATURE_COLUMNS, Features
from .guard import contradiction, levels_from_gammas, refusal
from .model import COMPARISONS, trained_settings
from .scoring import MatchModel, pair_name_shares
from .training import gamma_columns


@dataclass
class Decisions:
    clusters: list[list[int]]  # record ids linked together (singletons included)
    review: pd.DataFrame  # id_l, id_r, evidence, reason, weights (per comparison)
    auto_pairs: int


def splink_linker(records: pd.DataFrame, model_document: dict, engine: str = "duckdb"):
    from splink import Linker

    if engine == "spark":
        from .spark import spark_api

        db_api = spark_api()
        table = _typed_lists(db_api.spark.createDataFrame(records))
    else:
        db_api = duckdb_api()
        table = records
    settings = trained_settings(model_document, engine)
    linker = Linker(db_api.register(table, dataset_display_name="records"), settings, log_level=40)
    _register_term_frequencies(linker, db_api, model_document.get("term_frequencies", {}), engine)
    return linker


LIST_FEATURES = ("given_aliases", "families", "carer_families")


def _typed_lists(table):
    """Spark infers a list column that is empty throughout (no record names a carer) as null-typed,
    which its array functions refuse: every list feature is an array of strings."""
    for column in LIST_FEATURES:
        table = table.withColumn(column, table[column].cast("array<string>"))
    return table


def duckdb_api():
    """DuckDB capped below its default (80 % of the machine), spilling to disk beyond the cap.

    The Python side of a national run (records, features, decisions) needs memory too: at a
    million children, DuckDB at its default and Python together exceeded 24 GB.
    """
    import tempfile

    import duckdb
    from splink import DuckDBAPI

    connection = duckdb.connect(
        config={
            "memory_limit": settings.CONTACTPOINT_DUCKDB_MEMORY_LIMIT,
            "temp_directory": tempfile.gettempdir(),
        }
    )
    return DuckDBAPI(connection)


def _register_term_frequencies(linker, db_api, tables: dict[str, dict[str, float]], engine: str) -> None:
    """Splink uses the artifact's name frequencies, as in-process scoring does, not the run's own:
    a score must not depend on which other records happened to be linked in the same run."""
    for column, frequencies in tables.items():
        lookup = pd.DataFrame({column: list(frequencies), f"tf_{column}": list(frequencies.values())})
        data = db_api.spark.createDataFrame(lookup) if engine == "spark" else lookup
        linker.table_management.register_term_frequency_lookup(db_api.register(data), column)


def predict(records: pd.DataFrame, model: MatchModel, document: dict, engine: str = "duckdb") -> pd.DataFrame:
    """Every blocked pair at or above the review threshold, with evidence and the guard's verdict."""
    prior_weight = math.log2(model.prior / (1 - model.prior))
    linker = splink_linker(records, document, engine)
    scored = linker.inference.predict(threshold_match_weight=model.floor + prior_weight)
    frame = _worth_keeping(linker, scored, model, prior_weight)
    gammas = frame[gamma_columns()].to_numpy().tolist()
    levels = [levels_from_gammas(g) for g in gammas]
    shares = pair_name_shares(model.name_shares(records), frame["unique_id_l"], frame["unique_id_r"])
    return pd.DataFrame(
        {
            "id_l": frame["unique_id_l"].astype("int64"),
            "id_r": frame["unique_id_r"].astype("int64"),
            "evidence": frame["match_weight"] - prior_weight,
            "levels": levels,
            "reason": [refusal(lv, n) for lv, n in zip(levels, shares, strict=True)],
            "weights": frame[[f"mw_{c.name}" for c in COMPARISONS]].round(3).to_numpy().tolist(),
        }
    )


def _worth_keeping(linker, scored, model: MatchModel, prior_weight: float) -> pd.DataFrame:
    """Only the columns and pairs decisions need, selected in the engine, not in Python.

    Scoring reaches below the review threshold to catch pairs held apart only by an identifier
    disagreement; at national volume most of those pairs are siblings, far too many to bring
    into Python whole (a million children's run ran out of memory doing so).
    """
    evidence = f"(match_weight - ({prior_weight!r}))"
    identifiers = " + ".join(f"LEAST(mw_{c.name}, 0)" for c in COMPARISONS if c.name in ("nhs_number", "upn"))
    columns = ", ".join(
        ["unique_id_l", "unique_id_r", "match_weight"]
        + [f"gamma_{c.name}" for c in COMPARISONS]
        + [f"mw_{c.name}" for c in COMPARISONS]
    )
    sql = (
        f"SELECT {columns} FROM {scored.physical_name} "  # noqa: S608 (names from Splink and this module)
        f"WHERE {evidence} >= {model.thresholds.review!r} "
        f"OR ({identifiers} < 0 AND {evidence} - ({identifiers}) >= {model.thresholds.auto!r})"
    )
    frame = linker._db_api.query_sql(sql, output_type="pandas")
    scored.drop_table_from_database_and_remove_from_cache()
    return frame


def decide(
    records: pd.DataFrame,
    pairs: pd.DataFrame,
    model: MatchModel,
    cannot_link: set[frozenset[int]] | None = None,
) -> Decisions:
    """`cannot_link`: record pairs a person has already said belong to different children."""
    features = _features_by_id(records)
    apart = cannot_link or set()

    def conflict(a: int, b: int) -> bool:
        if frozenset((a, b)) in apart:
            return True
        return contradiction(model.score(features[a], features[b]).levels) is not None

    auto = pairs[(pairs.evidence >= model.thresholds.auto) & pairs.reason.isna()]
    edges: list[Edge] = list(zip(auto.id_l.tolist(), auto.id_r.tolist(), auto.evidence.tolist(), strict=True))
    clusters, refused = cluster(edges, conflict)
    linked = {r for group in clusters for r in group}
    clusters += [[r] for r in records["unique_id"].tolist() if r not in linked]
    review = _review_pairs(pairs, model, clusters, refused)
    return Decisions(clusters=clusters, review=review, auto_pairs=len(edges) - len(refused))


def _review_pairs(pairs: pd.DataFrame, model: MatchModel, clusters: list[list[int]], refused: list[Edge]):
    """Pairs a person should see: in the band, guarded, or refused while clustering — across children."""
    home = {r: n for n, group in enumerate(clusters) for r in group}
    worth_a_look = pd.Series(
        [model.worth_review(e, w) for e, w in zip(pairs.evidence, pairs.weights, strict=True)],
        index=pairs.index,
        dtype=bool,
    )
    band = pairs[worth_a_look & ((pairs.evidence < model.thresholds.auto) | pairs.reason.notna())].copy()
    refused_keys = {(a, b) for a, b, _ in refused}
    mask = pd.Series(
        [(a, b) in refused_keys for a, b in zip(pairs.id_l, pairs.id_r, strict=True)],
        index=pairs.index,
        dtype=bool,
    )
    refused_rows = pairs.loc[mask].copy()
    refused_rows["reason"] = refused_rows["reason"].fillna("would join two children that conflict")
    review = pd.concat([band, refused_rows])
    across = pd.Series(
        [home[a] != home[b] for a, b in zip(review.id_l, review.id_r, strict=True)],
        index=review.index,
        dtype=bool,
    )
    return review.loc[across].drop_duplicates(subset=["id_l", "id_r"])


def _features_by_id(records: pd.DataFrame) -> dict[int, Features]:
    columns = list(FEATURE_COLUMNS)
    values = records[columns].astype(object).where(records[columns].notna(), None)
    return {
        int(uid): Features(**dict(zip(columns, row, strict=True)))  # type: ignore[typeddict-item]
        for uid, row in zip(records["unique_id"], values.itertuples(index=False), strict=True)
    }
