"""Search ranking's CPU, in-process: the search's own ranking beside the exhaustive one, same input.

Run:  CACHE_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/search_scoring.py --children 100000 \
          --database cp_searchcost_100k [--queries 1000]

Uses the database search_http.py built with `--direct` (and its work directory) and its
practitioner-typed queries. For each query the candidates and the scope are read once; then the
ranking and the exhaustive ranking (every pair scored in full by `MatchModel.score`,
contactpoint.search.tests.reference) run on the same input, several rounds alternating, timed in
this process's CPU: first the ranking alone (the scope of every candidate given), then with the
scope's read (the search reads it for the children that could be returned only; the exhaustive
ranking for every candidate), with the database backend's CPU beside it. Every query's two
rankings must be equal (ids, order, scores, matched fields): a difference stops the run. Also
prints the candidate counts (children, records, pairs, children whose scope is read) and the CPU
of an audited search's candidate read, scope read and whole, by the same clock.
"""

import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def criteria_of(query: str):
    from contactpoint.api.search import SearchIn, criteria_checked
    from contactpoint.search.selectors import SearchCriteria

    fields = SearchIn(data=dict(urllib.parse.parse_qsl(query)))
    fields.is_valid(raise_exception=True)
    data = dict(fields.validated_data)
    limit = data.pop("limit")
    return criteria_checked(SearchCriteria(**data)), limit


def database_cpu() -> float:
    """CPU seconds of this process's database backend so far (it runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--database", required=True, help="a database search_http.py --direct built")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import search_http

    directory = search_http.build_direct(args.database, args.children, args.seed, rebuild=False)
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from contactpoint.access.actors import Actor
    from contactpoint.access.door import search_scope
    from contactpoint.linkage.scoring import current_model
    from contactpoint.search import selectors
    from contactpoint.search.tests.reference import rank_exhaustive

    search_http.practitioners(1)
    actor = Actor.for_user(get_user_model().objects.filter(username__startswith="bench-").latest("pk"))
    model = current_model()
    work = search_http.queries(directory, args.queries, args.seed)
    inputs = []
    wanted_of = []
    steps = {"candidates": 0.0, "scope": 0.0, "audited search": 0.0}
    for query, wanted in work:
        wanted_of.append(wanted)
        criteria, limit = criteria_of(query)
        with transaction.atomic():
            started = time.process_time()
            candidates = selectors._candidates(criteria)
            read = time.process_time()
            scope = search_scope(actor, sorted(candidates))
            steps["candidates"] += read - started
            steps["scope"] += time.process_time() - read
        started = time.process_time()
        selectors.children_search(actor=actor, criteria=criteria, limit=limit)
        steps["audited search"] += time.process_time() - started
        inputs.append((criteria, candidates, scope))

    def exhaustive(criteria, candidates):
        return rank_exhaustive(criteria, candidates, search_scope(actor, sorted(candidates)), model)

    def ranking(criteria, candidates):
        return selectors._ranked(actor, criteria, candidates, model)

    scoring_only: dict[str, list[float]] = {"exhaustive": [], "ranking": []}
    for _ in range(args.rounds):  # the ranking alone, on the scope of every candidate: no statement
        started = time.process_time()
        for criteria, candidates, scope in inputs:
            rank_exhaustive(criteria, candidates, scope, model)
        scoring_only["exhaustive"].append(round(1000 * (time.process_time() - started) / len(inputs), 3))
        started = time.process_time()
        for criteria, candidates, scope in inputs:
            selectors._rank(criteria, candidates, scope, selectors._scoring(criteria, candidates, model))
        scoring_only["ranking"].append(round(1000 * (time.process_time() - started) / len(inputs), 3))

    times: dict[str, list[tuple[float, float]]] = {"exhaustive": [], "ranking": []}
    for _ in range(args.rounds):
        for label, rank in (("exhaustive", exhaustive), ("ranking", ranking)):
            with transaction.atomic():
                started, database = time.process_time(), database_cpu()
                for criteria, candidates, _ in inputs:
                    rank(criteria, candidates)
                used = (time.process_time() - started, database_cpu() - database)
            app, database = (round(1000 * t / len(inputs), 3) for t in used)
            times[label].append((app, database))
    first = top5 = 0
    for (criteria, candidates, _), wanted in zip(inputs, wanted_of, strict=True):
        with transaction.atomic():
            ours, theirs = ranking(criteria, candidates), exhaustive(criteria, candidates)
        if ours != theirs:
            raise SystemExit(f"rankings differ for {criteria}:\n{ours}\n{theirs}")
        first += bool(ours) and ours[0].id in wanted
        top5 += any(hit.id in wanted for hit in ours[:5])
    records = [sum(map(len, c.values())) for _, c, _ in inputs]
    pairs = [
        len(selectors._queries(q, swapped_dates=False)) * n
        for (q, _, _), n in zip(inputs, records, strict=True)
    ]
    result = {
        "children": args.children,
        "queries": len(inputs),
        "rankings_equal": True,
        "right_first": round(first / len(inputs), 4),
        "in_top_5": round(top5 / len(inputs), 4),
        "candidate_children_mean": round(statistics.fmean(len(c) for _, c, _ in inputs), 1),
        "candidate_records_mean": round(statistics.fmean(records), 1),
        "pairs_mean": round(statistics.fmean(pairs), 1),
        "children_scoped_mean": round(
            statistics.fmean(
                len(selectors._worth_scoping(q, selectors._scoring(q, c, model))) for q, c, _ in inputs
            ),
            1,
        ),
        "ranking_alone_cpu_ms": scoring_only,
        "ranking_with_scope_read_cpu_ms_app_database": times,
        "step_cpu_ms": {label: round(1000 * t / len(inputs), 3) for label, t in steps.items()},
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "0")
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/0")
    import search_http

    os.environ.update(search_http.bench_keys())
    main()
