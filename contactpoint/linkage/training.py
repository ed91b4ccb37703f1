"""Training the match model and choosing its thresholds from a labelled sample.

u (how often levels agree by chance) comes from random pairs; m (how often true matches agree)
from labelled records — in production the decisions of the review queue, for the demo and the
shipped artifact a synthetic population with ground truth. Thresholds are then read off the
labelled predictions, after the guard, rather than guessed: `auto` is the lowest evidence at which
automatic links are at least `target_precision` precise, `review` the lowest evidence at which
pairs are still true matches often enough (`review_precision`) to be worth a reviewer's time.
"""

import datetime
import json
import math
from collections import Counter
from pathlib import Path

import pandas as pd

from .guard import levels_from_gammas, refusal
from .model import COMPARISONS, splink_settings
from .scoring import name_shares, pair_name_shares

TF_COLUMNS = ("given", "family")
U_PAIRS = 5e6
REVIEW_WINDOW = 2.0
REVIEW_STEP = 0.5
TF_KEEP = 5000  # most common names kept in the artifact; rarer ones need no adjustment downwards


def model_train(
    *,
    records: pd.DataFrame,
    label_column: str,
    version: str,
    out: Path,
    target_precision: float = 0.999,
    review_precision: float = 0.02,
) -> dict:
    """Train on `records` (a features frame with a cluster label column) and write the artifact."""
    from splink import Linker, block_on

    from .engine import duckdb_api

    db = duckdb_api()
    linker = Linker(
        db.register(records, dataset_display_name="records"),
        splink_settings(extra_columns=[label_column]),
        log_level=30,
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nhs"), block_on("dob", "family", "given")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=1)
    linker.training.estimate_m_from_label_column(label_column)
    saved = _floors(
        _identifiers_alike(linker.misc.save_model_to_json()),
        true_pairs=true_pair_count(records[label_column]),
        u_pairs=U_PAIRS,
    )
    saved["additional_columns_to_retain"] = ["source"]
    linker = Linker(
        duckdb_api().register(records, dataset_display_name="records"),
        saved | {"additional_columns_to_retain": ["source", label_column]},
        log_level=40,
    )
    predictions = linker.inference.predict(threshold_match_weight=-20).as_pandas_dataframe()
    frequencies = term_frequencies(records)
    document = {
        "version": version,
        "trained_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "training_records": len(records),
        "splink": saved,
        "term_frequencies": frequencies,
    }
    prior_weight = math.log2(
        saved["probability_two_random_records_match"] / (1 - saved["probability_two_random_records_match"])
    )
    document["thresholds"] = thresholds_choose(
        labelled_pairs(predictions, label_column, prior_weight, name_shares(records, frequencies)),
        target_precision=target_precision,
        review_precision=review_precision,
    )
    out.write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    return document


def term_frequencies(records: pd.DataFrame) -> dict[str, dict[str, float]]:
    tables = {}
    for column in TF_COLUMNS:
        values = records[column].dropna()
        counts = Counter(values)
        total = len(values)
        tables[column] = {name: count / total for name, count in counts.most_common(TF_KEEP)}
    return tables


def gamma_columns() -> list[str]:
    return [f"gamma_{c.name}" for c in COMPARISONS]


def labelled_pairs(
    predictions: pd.DataFrame, label_column: str, prior_weight: float, shares: pd.Series
) -> pd.DataFrame:
    """Evidence, guard verdict and truth for every predicted pair.

    The guard is asked exactly as in a run, namesake rule included (`shares`: each record's name
    share, by id, from the artifact's own name tables): otherwise unrelated namesakes the guard will
    send to review count against `auto` here and raise it for pairs it never has to separate.
    """
    gammas = predictions[gamma_columns()].to_numpy().tolist()
    pair_shares = pair_name_shares(shares, predictions["unique_id_l"], predictions["unique_id_r"])
    return pd.DataFrame(
        {
            "evidence": predictions["match_weight"] - prior_weight,
            "refused": [
                refusal(levels_from_gammas(g), share) is not None
                for g, share in zip(gammas, pair_shares, strict=True)
            ],
            "match": predictions[f"{label_column}_l"] == predictions[f"{label_column}_r"],
        }
    )


def true_pair_count(labels: pd.Series) -> int:
    return int(sum(n * (n - 1) // 2 for n in labels.value_counts()))


def thresholds_choose(
    pairs: pd.DataFrame, *, target_precision: float, review_precision: float
) -> dict[str, float]:
    """`auto` from the guard-allowed pairs; `review` where the band stops being worth a person's time.

    Walking down from `auto`, the review band keeps growing while pairs scoring within
    REVIEW_WINDOW of the edge are still true matches at least `review_precision` of the time;
    below that, a reviewer would read hundreds of siblings to find one match.
    """
    allowed = pairs[~pairs.refused].sort_values("evidence", ascending=False)
    auto = _lowest_precise(allowed, target_precision)
    review = auto
    while True:
        window = pairs[(pairs.evidence >= review - REVIEW_WINDOW) & (pairs.evidence < review)]
        if window.empty or window["match"].mean() < review_precision:
            break
        review -= REVIEW_STEP
    return {"auto": round(auto, 2), "review": round(review, 2)}


def _lowest_precise(pairs: pd.DataFrame, target: float) -> float:
    """The lowest evidence t such that pairs scoring >= t are at least `target` precise."""
    matches = pairs["match"].cumsum().to_numpy()
    seen = range(1, len(pairs) + 1)
    evidence = pairs["evidence"].to_numpy()
    best = float(evidence[0]) if len(evidence) else 0.0
    for position, (hits, count) in enumerate(zip(matches, seen, strict=True)):
        if hits / count >= target:
            best = float(evidence[position])
    return best


def _identifiers_alike(saved: dict) -> dict:
    """A UPN is issued and checked like an NHS number; where no sample pair held two UPNs (one
    source sends them), its levels take the NHS number's probabilities rather than Splink's defaults.
    """
    by_name = {c["output_column_name"]: c for c in saved["comparisons"]}
    for level, model in zip(
        by_name["upn"]["comparison_levels"], by_name["nhs_number"]["comparison_levels"], strict=True
    ):
        for key in ("m_probability", "u_probability"):
            if key not in level and key in model:
                level[key] = model[key]
    return saved


def _floors(saved: dict, *, true_pairs: int, u_pairs: float) -> dict:
    """Levels never seen in a sample get half a count, not Splink's defaults: a level no true match
    showed (a different NHS number) stays strong evidence against, but not infinite.
    """
    floors = {"m_probability": 0.5 / max(true_pairs, 1), "u_probability": 0.5 / u_pairs}
    for comparison in saved["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level"):
                for key, floor in floors.items():
                    level.setdefault(key, floor)
    return saved
