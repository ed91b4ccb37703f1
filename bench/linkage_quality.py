"""Linkage quality on synthetic children with ground truth: our model beside plain Splink.

Run:  .venv/bin/python bench/linkage_quality.py [--children 100000,1000000] [--seed 7] [--work DIR]

For each size: generates a population (seed differs from the one the shipped model was trained
on), loads its feed files through the real feed loader into a fresh PostgreSQL database, then
in one run scores (a) our model + guard + constrained clustering and (b) plain Splink 5 (the
library's standard comparisons, EM-trained, clustered at match probability 0.95) on the same
records. Plain Splink's first EM pass is blocked on date of birth and the family name's first
letter: blocked on date of birth alone it compares ~400 records a day with each other and had not
finished after an hour at a million children. Prints pairwise precision / recall / F1, wrongly
merged children and how many of those were twins or siblings, review-queue size, and the time each
took; `--shortfall` adds why the missed true pairs were not linked, by comparison level.
"""

import argparse
import csv
import datetime
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.local")
    import django

    django.setup()


def fresh_database(name: str) -> str:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load(directory: Path, *, migrated: bool = False) -> None:
    from django.utils import timezone

    from contactpoint.feeds.services import feed_load, sources_sync
    from contactpoint.records import services

    if not migrated:
        migrate()
    sources_sync()
    with (directory / "organisations.csv").open(newline="") as handle:
        services.organisations_load(rows=list(csv.DictReader(handle)))
    manifest = json.loads((directory / "manifest.json").read_text())
    for source, extracted in manifest["extracted_at"].items():
        when = timezone.make_aware(datetime.datetime.fromisoformat(extracted))
        feed_load(source_code=source, path=directory / f"{source}.csv", extracted_at=when)


def population(directory: Path, *, children: int, seed: int) -> Path:
    """A synthetic population's feed files in `directory`, generated once and reused."""
    from contactpoint.synthetic.feeds import write_population

    if not (directory / "manifest.json").exists():
        directory.mkdir(parents=True, exist_ok=True)
        write_population(children=children, seed=seed, out=directory, as_of=datetime.date(2026, 10, 1))
    return directory


def truth(directory: Path) -> tuple[dict, dict]:
    with (directory / "truth.csv").open(newline="") as handle:
        person = {(r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(handle)}
    with (directory / "children.csv").open(newline="") as handle:
        family = {r["person_id"]: (r["household_id"], r["birth_group"]) for r in csv.DictReader(handle)}
    return person, family


def evaluate(groups: list[list[int]], person_of: dict[int, str], family: dict[str, tuple[str, str]]) -> dict:
    tp = fp = 0
    wrong_children = 0
    kinds: Counter[str] = Counter()
    for group in groups:
        people = Counter(person_of[r] for r in group)
        same = sum(n * (n - 1) // 2 for n in people.values())
        total = len(group) * (len(group) - 1) // 2
        tp, fp = tp + same, fp + total - same
        if len(people) > 1:
            wrong_children += 1
            for a, b in itertools.combinations(sorted(people), 2):
                (ha, ba), (hb, bb) = family[a], family[b]
                kinds["twins" if ba == bb else "siblings" if ha == hb else "unrelated"] += 1
    sizes = Counter(person_of.values())
    true_pairs = sum(n * (n - 1) // 2 for n in sizes.values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 5),
        "recall": round(recall, 5),
        "f1": round(f1, 5),
        "wrongly_merged_children": wrong_children,
        "wrong_person_pairs": dict(kinds),
        "children": len(groups),
        "people": len(sizes),
    }


def shortfall(records, clusters: list[list[int]], person_of: dict[int, str], model) -> dict:
    """Why true pairs were not linked, by the comparison levels they sit at.

    Every child split over several clusters is looked at fragment by fragment: each smaller
    fragment against the child's largest one, through its best-scoring record pair (scored
    in-process at the index's volume, so pairs below the engine's floor are seen too). The missed
    true pairs (fragment sizes multiplied) are then counted by the decision that pair met and by
    the level each comparison reached.
    """
    from contactpoint.linkage.engine import _features_by_id
    from contactpoint.linkage.guard import refusal
    from contactpoint.linkage.scoring import COMPARISONS

    features = _features_by_id(records)
    fragments: dict[str, list[list[int]]] = defaultdict(list)
    for group in clusters:
        by_person: dict[str, list[int]] = defaultdict(list)
        for record in group:
            by_person[person_of[record]].append(record)
        for person, members in by_person.items():
            fragments[person].append(members)
    decision: Counter[str] = Counter()
    levels: dict[str, Counter[str]] = {c.name: Counter() for c in COMPARISONS}
    patterns: Counter[str] = Counter()
    evidence: list[tuple[float, int]] = []
    for parts in fragments.values():
        if len(parts) < 2:
            continue
        parts.sort(key=len, reverse=True)
        for part in parts[1:]:
            missed = len(part) * len(parts[0])
            best = max(
                ((a, b) for a in part for b in parts[0]),
                key=lambda ab: model.score(features[ab[0]], features[ab[1]]).evidence,
            )
            left, right = features[best[0]], features[best[1]]
            scored = model.score(left, right)
            reason = refusal(scored.levels, model.name_share(left, right))
            if reason:
                what = f"guard: {reason}"
            elif scored.evidence >= model.thresholds.auto:
                what = "allowed and above auto: held apart in clustering"
            elif scored.evidence >= model.thresholds.review:
                what = "review band"
            else:
                what = "below review"
            decision[what] += missed
            labels = [scored.level_label(i) for i in range(len(COMPARISONS))]
            for comparison, text in zip(COMPARISONS, labels, strict=True):
                levels[comparison.name][text] += missed
            if not reason:
                patterns[
                    " / ".join(f"{c.name[:6]}={t}" for c, t in zip(COMPARISONS, labels, strict=True))
                ] += missed
            evidence.append((scored.evidence, missed))
    return {
        "missed_true_pairs": sum(decision.values()),
        "by_decision": dict(decision.most_common()),
        "by_level": {name: dict(c.most_common()) for name, c in levels.items()},
        "unguarded_patterns": dict(patterns.most_common(15)),
        "evidence_quantiles": _weighted_quantiles(evidence, (0.1, 0.25, 0.5, 0.75, 0.9)),
    }


def _weighted_quantiles(values: list[tuple[float, int]], quantiles: tuple[float, ...]) -> list[float]:
    ordered = sorted(values)
    total = sum(w for _, w in ordered)
    out, seen, position = [], 0, 0
    for q in quantiles:
        while position < len(ordered) and seen + ordered[position][1] < q * total:
            seen += ordered[position][1]
            position += 1
        out.append(round(ordered[min(position, len(ordered) - 1)][0], 2) if ordered else 0.0)
    return out


def ours(records, model) -> tuple[list[list[int]], int, float]:
    from contactpoint.linkage import engine

    started = time.perf_counter()
    pairs = engine.predict(records, model, model.document)
    decisions = engine.decide(records, pairs, model)
    elapsed = time.perf_counter() - started
    home = {r: n for n, g in enumerate(decisions.clusters) for r in g}
    review_pairs = {
        (min(home[a], home[b]), max(home[a], home[b]))
        for a, b in zip(decisions.review.id_l, decisions.review.id_r, strict=True)
    }
    return decisions.clusters, len(review_pairs), elapsed


def plain_splink(rows: list[dict]) -> tuple[list[list[int]], float]:
    """The library's standard approach, as its tutorials set it up."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on

    from contactpoint.linkage.engine import duckdb_api

    frame = pd.DataFrame(
        {
            "unique_id": [r["pk"] for r in rows],
            "given_name": [r["given_name"].lower() or None for r in rows],
            "family_name": [r["family_name"].lower() or None for r in rows],
            "date_of_birth": [r["date_of_birth"] for r in rows],
            "gender": [r["gender"] or None for r in rows],
            "postcode": [r["postcode"] or None for r in rows],
            "nhs_number": [r["nhs_number"] or None for r in rows],
            "upn": [r["upn"] or None for r in rows],
        }
    )
    frame["date_of_birth"] = pd.to_datetime(frame["date_of_birth"])
    started = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("family_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=False),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("gender"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("upn"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("nhs_number"),
            block_on("upn"),
            block_on("date_of_birth", "family_name"),
            block_on("date_of_birth", "given_name"),
            block_on("family_name", "given_name"),
            block_on("postcode", "given_name"),
        ],
    )
    # The same memory cap as ours, so both fit beside each other at a million children.
    linker = Linker(duckdb_api().register(frame), settings, log_level=40)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("nhs_number"), block_on("given_name", "family_name", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth", "substr(family_name, 1, 1)")
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("family_name", "given_name"))
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


def run(
    children: int,
    seed: int,
    work: Path,
    *,
    plain: bool = True,
    reuse: bool = False,
    explain: bool = False,
    variants: tuple[Path, ...] = (),
) -> dict:
    from contactpoint.feeds.models import SourceRecord

    directory = population(work / f"population-{children}-{seed}", children=children, seed=seed)
    started = time.perf_counter()
    if not (reuse and SourceRecord.objects.exists()):
        load(directory)
    load_seconds = time.perf_counter() - started

    from contactpoint.linkage.frame import RECORD_FIELDS, frame
    from contactpoint.linkage.scoring import MatchModel, current_model
    from contactpoint.records import sealed

    rows = sealed.values_opened(SourceRecord.objects.all(), *RECORD_FIELDS, "source_record_id")
    person, family = truth(directory)
    person_of = {r["pk"]: person[(r["source__code"], r["source_record_id"])] for r in rows}
    records = frame(rows)
    model = current_model().at_volume(len(rows))
    groups, review, our_seconds = ours(records, model)
    measured = evaluate(groups, person_of, family) | {
        "seconds": round(our_seconds, 1),
        "review_pairs": review,
    }
    print(json.dumps({"children": children, "records": len(rows), "ours": measured}), flush=True)
    if explain:
        print(json.dumps({"shortfall": shortfall(records, groups, person_of, model)}, indent=1), flush=True)
    baseline = None
    if plain:
        plain_groups, plain_seconds = plain_splink(rows)
        baseline = evaluate(plain_groups, person_of, family) | {"seconds": round(plain_seconds, 1)}
    if baseline is not None:
        print(json.dumps({"plain_splink": baseline}), flush=True)
    compared = {}
    for path in variants:
        variant = MatchModel.load(path).at_volume(len(rows))
        variant_groups, variant_review, variant_seconds = ours(records, variant)
        compared[variant.version] = evaluate(variant_groups, person_of, family) | {
            "seconds": round(variant_seconds, 1),
            "review_pairs": variant_review,
            "thresholds": vars(variant.thresholds),
        }
        print(json.dumps({"variant": variant.version, "ours": compared[variant.version]}), flush=True)
    return {
        "children": children,
        "records": len(rows),
        "load_seconds": round(load_seconds, 1),
        "model": model.version,
        "thresholds": vars(model.thresholds),
        "ours": measured,
        "ours_variants": compared,
        "plain_splink": baseline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", default="100000,1000000")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "contactpoint-bench-linkage"
    )
    parser.add_argument(
        "--no-plain",
        action="store_true",
        help="score ours only",
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument(
        "--load-only", action="store_true", help="generate and load the population, then stop"
    )
    parser.add_argument(
        "--variant",
        type=Path,
        action="append",
        default=[],
        help="also score this model artifact (a path), side by side with the shipped one",
    )
    parser.add_argument(
        "--shortfall", action="store_true", help="also print why true pairs were not linked, by level"
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.children.split(",")]
    name = f"contactpoint_bench_link_{sizes[0]}"
    setup_django(f"postgres://postgres@127.0.0.1:5432/{name}" if args.reuse else fresh_database(name))
    results = []
    for number, size in enumerate(sizes):
        if number:
            from django.db import connections

            connections.close_all()
            connections["default"].settings_dict["NAME"] = f"contactpoint_bench_link_{size}"
            if not args.reuse:
                fresh_database(f"contactpoint_bench_link_{size}")
        if args.load_only:
            from contactpoint.feeds.models import SourceRecord

            if not (args.reuse and SourceRecord.objects.exists()):
                load(population(args.work / f"population-{size}-{args.seed}", children=size, seed=args.seed))
            print(f"{size} children loaded: {SourceRecord.objects.count()} records", flush=True)
            continue
        result = run(
            size,
            args.seed,
            args.work,
            plain=not args.no_plain,
            reuse=args.reuse,
            explain=args.shortfall,
            variants=tuple(args.variant),
        )
        print(json.dumps(result, indent=1), flush=True)
        results.append(result)
    flags = " --no-plain" * args.no_plain + "".join(f" --variant {v}" for v in args.variant)
    command = (
        f".venv/bin/python bench/linkage_quality.py --children {args.children} --seed {args.seed}{flags}"
    )
    print(f"\nReproduce: {command}")
    for r in results:
        o, p = r["ours"], r["plain_splink"]
        line = (
            f"{r['children']:>9} children {r['records']:>9} records | "
            f"ours P {o['precision']} R {o['recall']} F1 {o['f1']} wrong {o['wrongly_merged_children']} "
            f"{o['wrong_person_pairs']} ({o['seconds']} s)"
        )
        if p is not None:
            line += (
                f" | plain Splink P {p['precision']} R {p['recall']} F1 {p['f1']} wrong "
                f"{p['wrongly_merged_children']} {p['wrong_person_pairs']} ({p['seconds']} s) | "
                f"time ratio {o['seconds'] / p['seconds']:.2f}"
            )
        print(line)
        for version, v in r["ours_variants"].items():
            print(
                f"{'':>9} variant {version} {v['thresholds']}: P {v['precision']} R {v['recall']} "
                f"F1 {v['f1']} wrong {v['wrongly_merged_children']} {v['wrong_person_pairs']} "
                f"review {v['review_pairs']} ({v['seconds']} s)"
            )


if __name__ == "__main__":
    main()
