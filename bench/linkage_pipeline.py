"""Full load + link against bare Splink on the same records, and incremental linking per record.

Run:  .venv/bin/python bench/linkage_pipeline.py [--children 30000] [--seed 9] [--sample 500]
      .venv/bin/python bench/linkage_pipeline.py --existing DATABASE [--sample 500] [--changed]

In one run, on a fresh PostgreSQL database: (1) loads a synthetic population's feed files through
the feed loader and runs `contactpoint link` (the first, full run: Splink scoring, guard,
clustering, children, materialised records, candidate index) — the whole pipeline; (2) runs bare
Splink (standard comparisons, EM training, prediction, clustering) on the same loaded records;
(3) times the incremental decision for `--sample` records taken as if newly arrived (candidate
lookup in the database index and in-process scoring), printing p50 / p95 / p99.

`--existing` times only (3), against an index already built in that database (for example the
million-children index `bench/search_direct.py` builds, which a full pipeline run on this machine
cannot reach in reasonable time), so the incremental figure can be read at national-like volume.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", type=int, default=30000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--sample", type=int, default=500)
    parser.add_argument("--database", help="the database to recreate (contactpoint_bench_pipeline_N)")
    parser.add_argument("--existing", help="time incremental decisions only, in this linked database")
    parser.add_argument(
        "--changed",
        action="store_true",
        help="with --existing: time each sampled record as a changed record of its child (whether "
        "it still fits it), not as a new one",
    )
    parser.add_argument(
        "--scoring",
        action="store_true",
        help="with --existing: CPU to score each sampled record's candidates, every pair in full "
        "against the memoised scorer, by the number of candidate records",
    )
    args = parser.parse_args()

    import linkage_quality as lq

    if args.existing:
        incremental_only(lq, args.existing, args.sample, scoring=args.scoring, changed=args.changed)
        return

    lq.setup_django(lq.fresh_database(args.database or f"contactpoint_bench_pipeline_{args.children}"))
    import tempfile

    directory = lq.population(
        Path(tempfile.gettempdir()) / f"contactpoint-bench-pipeline-{args.children}-{args.seed}",
        children=args.children,
        seed=args.seed,
    )

    from contactpoint.feeds.models import SourceRecord
    from contactpoint.linkage.frame import RECORD_FIELDS
    from contactpoint.linkage.services import link_run
    from contactpoint.records import sealed

    before = time.perf_counter()
    lq.migrate()  # creating an empty schema is no part of loading or linking, nor of bare Splink
    started = time.perf_counter()
    print(f"schema migrated in {started - before:.1f} s (not counted)", flush=True)
    lq.load(directory, migrated=True)
    loaded = time.perf_counter()
    run = link_run(say=lambda line: print(f"{time.perf_counter() - loaded:7.1f} s  {line}", flush=True))
    ours = time.perf_counter() - started
    print(f"ours: load {loaded - started:.1f} s + link {ours - (loaded - started):.1f} s; {run.counts}")

    rows = sealed.values_opened(SourceRecord.objects.all(), *RECORD_FIELDS, "source_record_id")
    _, bare = lq.plain_splink(rows)
    print(f"bare Splink on the same {len(rows)} records: {bare:.1f} s")

    latencies = incremental(rows, args.sample)
    p50, p95, p99 = (statistics.quantiles(latencies, n=100)[q - 1] for q in (50, 95, 99))
    print(
        f"\n{args.children} children, {len(rows)} records: load + link {ours:.1f} s vs bare Splink "
        f"{bare:.1f} s (ratio {ours / bare:.2f}); incremental per record p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {p99:.1f} ms"
    )
    print(
        f"Reproduce: .venv/bin/python bench/linkage_pipeline.py --children {args.children} --seed {args.seed}"
    )


def incremental_only(lq, database: str, sample: int, *, scoring: bool = False, changed: bool = False) -> None:
    """Sample records from an index already linked, without reloading it. The keys are the ones
    the search benchmarks build with, so their candidate index key unwraps here."""
    import search_http

    os.environ.update(search_http.bench_keys())
    lq.setup_django(f"postgres://postgres@127.0.0.1:5432/{database}")
    from contactpoint.feeds.models import SourceRecord
    from contactpoint.linkage.frame import RECORD_FIELDS
    from contactpoint.records import sealed

    linked = SourceRecord.objects.filter(child__isnull=False)
    count = linked.count()
    step = max(1, count // (sample * 4))
    wanted = list(linked.order_by("pk").values_list("pk", flat=True)[::step][: sample * 4])
    rows = sealed.values_opened(
        linked.filter(pk__in=wanted).order_by("pk"), *RECORD_FIELDS, "source_record_id", "child_id"
    )
    if scoring:
        scoring_by_candidates(rows, sample, volume=count)
        return
    cpu: list[float] = []
    latencies = incremental(rows, sample, volume=count, cpu=cpu, changed=changed)
    p50, p95, p99 = (statistics.quantiles(latencies, n=100)[q - 1] for q in (50, 95, 99))
    c50, c95, c99 = (statistics.quantiles(cpu, n=100)[q - 1] for q in (50, 95, 99))
    print(
        f"\n{database}: {count} linked records; incremental per record p50 {p50:.1f} ms, "
        f"p95 {p95:.1f} ms, p99 {p99:.1f} ms over {len(latencies)} records; this process's CPU "
        f"p50 {c50:.2f} ms, p95 {c95:.2f} ms, p99 {c99:.2f} ms (the database's not counted)"
        + ("; as changed records of their children" if changed else "")
    )
    print(
        f"Reproduce: .venv/bin/python bench/linkage_pipeline.py --existing {database} --sample {sample}"
        + (" --changed" if changed else "")
    )


BUCKETS = ((1, 5), (6, 20), (21, 50), (51, 100), (101, 10**9))


def scoring_by_candidates(rows: list[dict], sample: int, *, volume: int, passes: int = 15) -> None:
    """Microseconds of CPU to score one record's candidate records, as incremental linking did
    (`MatchModel.score` for every pair) and does (`PairScorer.scored`), by how many candidates it
    has: the least of `passes` passes, so a busy machine disturbs it little. Stops on any pair
    the two score differently."""
    import random

    from contactpoint.linkage.candidates import candidates_by_child
    from contactpoint.linkage.frame import record_features
    from contactpoint.linkage.model import candidate_keys
    from contactpoint.linkage.pairs import PairScorer
    from contactpoint.linkage.scoring import current_model

    model = current_model().at_volume(volume)
    chosen = random.Random(1).sample(rows, min(sample, len(rows)))  # noqa: S311 (the timed sample's)
    work = []
    for row in chosen:
        query = record_features(row)
        found = candidates_by_child(candidate_keys(query), exclude_record=row["pk"])
        work.append((query, [other for others in found.values() for other in others]))

    def full(items: list) -> None:
        for query, others in items:
            for other in others:
                model.score(query, other)

    def memoised(items: list) -> None:
        for query, others in items:
            scorer = PairScorer(model, [query])
            for other in others:
                scorer.scored(0, other)

    for query, others in work:
        scorer = PairScorer(model, [query])
        if any(scorer.scored(0, other) != model.score(query, other) for other in others):
            raise SystemExit("the memoised scorer differs from MatchModel.score")
    print("candidates  records  full µs  memoised µs  mean candidates  (CPU per record, least of passes)")
    for low, high in BUCKETS:
        items = [(q, others) for q, others in work if low <= len(others) <= high]
        if not items:
            continue
        least = {full: float("inf"), memoised: float("inf")}
        for _ in range(passes):
            for way in least:
                started = time.process_time()
                way(items)
                least[way] = min(least[way], (time.process_time() - started) * 1e6 / len(items))
        mean = sum(len(others) for _, others in items) / len(items)
        label = f"{low}-{high}" if high < 10**9 else f">{low - 1}"
        print(f"{label:>10}  {len(items):7d}  {least[full]:7.0f}  {least[memoised]:11.0f}  {mean:15.0f}")


def incremental(
    rows: list[dict],
    sample: int,
    *,
    volume: int | None = None,
    cpu: list[float] | None = None,
    changed: bool = False,
) -> list[float]:
    """Milliseconds to decide each sampled record against the index (read only: nothing written);
    `cpu` gets this process's CPU milliseconds for each, which a busy machine disturbs far less.
    `changed`: each record decided as a changed record of its child, as stored (it stays if it
    still fits), rather than as a new one."""
    import random

    from django.db import connection

    from contactpoint.linkage.frame import record_features
    from contactpoint.linkage.scoring import current_model
    from contactpoint.linkage.services import link_one

    model = current_model().at_volume(volume or len(rows))
    chosen = random.Random(1).sample(rows, min(sample, len(rows)))  # noqa: S311 (a benchmark sample)
    latencies = []
    for row in chosen:
        started, used = time.perf_counter(), time.process_time()
        link_one(model, row["pk"], record_features(row), row["child_id"] if changed else None)
        latencies.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - used) * 1000)
    connection.close()
    return latencies


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.local")
    main()
