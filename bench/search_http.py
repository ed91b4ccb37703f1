"""Search through HTTP at scale: latency of single searches and throughput with concurrent clients.

Run:  .venv/bin/python bench/search_http.py --children 100000 [--workers 3] [--clients 1,8,16]

Builds (once) a PostgreSQL database of N children the way production gets one — a synthetic
population through the feed loader, then `contactpoint link` — and keeps it as
`cp_searchbench_N`, so later runs reuse it (`--rebuild` starts again; new migrations are applied
to a kept database, so an index a migration adds is built over the data already there). Then
serves the app with production settings under gunicorn (bearer tokens, per-token throttling,
audit signing on), and drives `GET /api/v1/children/search` with practitioner-typed queries
(bench/search_quality.py's generator: nicknames, slips, swapped dates, districts) from a small
keep-alive client: first one client alone for `--single` searches (p50 / p95 / p99), then each
number of concurrent clients for `--seconds` (searches per second and latency). Checks every
answer (200, and whether the wanted child came first) and that each search left one audit event.

A 1M build takes about an hour and 12 GB of memory: check `free -g` first and set
CONTACTPOINT_DUCKDB_MEMORY_LIMIT=4GB. `--build-only` stops after the build.

Old and new side by side: `--baseline DIR` serves another checkout (say `git archive main`
unpacked, with this script copied into its bench/) on `--port`+1 against the same database, its
rate limits in `--baseline-cache`, and runs every phase for both before the next. The server's
cache is CACHE_URL (default redis://127.0.0.1:6379/0, as production). `--statements N` counts the
database statements of N searches in-process (run it from the baseline's checkout for its count).
"""

import argparse
import csv
import http.client
import json
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PG = ["-h", "127.0.0.1", "-U", "postgres"]


def database_url(name: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def built(name: str) -> bool:
    """A kept database counts only if its first link run finished (a stopped build is redone)."""
    found = subprocess.run(
        ["psql", *PG, "-tAc", "SELECT count(*) FROM linkage_linkrun WHERE finished_at IS NOT NULL", name],
        capture_output=True,
        text=True,
    )
    return found.returncode == 0 and found.stdout.strip() not in ("", "0")


def build_direct(name: str, children: int, seed: int, *, rebuild: bool) -> Path:
    """The index written as if linked (bench/search_direct.py): minutes at 1M instead of hours."""
    import linkage_quality as lq
    import search_direct

    directory = Path(tempfile.gettempdir()) / f"contactpoint-bench-{name}-{seed}"
    if rebuild or not built(name) or not (directory / "linked.csv").exists():
        lq.setup_django(lq.fresh_database(name))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        counts = search_direct.build(directory, children, seed)
        print(f"built {name} directly: {counts}", flush=True)
    else:
        lq.setup_django(database_url(name))
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"reusing {name}", flush=True)
    return directory


def build(name: str, children: int, seed: int, *, rebuild: bool) -> Path:
    """The population's feed files, and the database loaded and linked from them (reused if kept)."""
    import linkage_quality as lq

    directory = Path(tempfile.gettempdir()) / f"contactpoint-bench-searchhttp-{children}-{seed}"
    if rebuild or not built(name):
        lq.setup_django(lq.fresh_database(name))
        started = time.perf_counter()
        lq.population(directory, children=children, seed=seed)
        generated = time.perf_counter()
        lq.load(directory)
        loaded = time.perf_counter()
        from contactpoint.linkage.services import link_run

        wait_for_memory(children)
        run = link_run(say=lambda line: print(f"  {line}", flush=True))
        print(
            f"built {name}: generate {generated - started:.0f} s, load {loaded - generated:.0f} s, "
            f"link {time.perf_counter() - loaded:.0f} s; {run.counts}",
            flush=True,
        )
    else:
        lq.setup_django(database_url(name))
        lq.population(directory, children=children, seed=seed)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"reusing {name}", flush=True)
    return directory


def wait_for_memory(children: int) -> None:
    """A national link needs ~12 GB: on a shared machine, wait for it rather than push others out."""
    needed = 12 * 2**30 * min(1.0, children / 1_000_000)
    while True:
        with open("/proc/meminfo") as meminfo:
            lines = [line.split() for line in meminfo]
        available = next(int(kb) * 1024 for key, kb, *_ in lines if key == "MemAvailable:")
        if available >= needed:
            return
        print(f"  waiting for memory: {available / 2**30:.1f} GB available, {needed / 2**30:.1f} GB needed")
        time.sleep(60)


def practitioners(count: int) -> list[str]:
    """Bearer tokens of `count` vetted practitioners in the population's local authorities."""
    from contactpoint.access.services import api_token_issue, roles_sync, user_create
    from contactpoint.records.models import Organisation, OrganisationKind

    roles_sync()
    areas = list(
        Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY).values_list("code", flat=True)
    )
    tokens = []
    run = secrets.token_hex(3)
    for number in range(count):
        user, _ = user_create(
            username=f"bench-{run}-{number}",
            role_code="practitioner",
            organisation_code=areas[number % len(areas)],
            local_authority_code=None,
            vetted=True,
            password=None,
            family_name="Bench",
            email="",
            home_postcode="",
        )
        tokens.append(api_token_issue(user=user, name="search benchmark"))
    return tokens


def queries(directory: Path, count: int, seed: int) -> list[tuple[str, set[str]]]:
    """(query string, the ContactPoint IDs holding that person's records) for sampled children."""
    return [(typed.text, typed.wanted) for typed in typed_queries(directory, count, seed)]


@dataclass(frozen=True)
class TypedQuery:
    text: str  # the query string the client sends
    wanted: set[str]  # the ContactPoint IDs holding the person's records
    person: dict[str, str]  # the person's true details (children.csv)
    kinds: dict[str, str]  # how each field was typed (search_quality.noisy_query)


def typed_queries(directory: Path, count: int, seed: int) -> list[TypedQuery]:
    from search_quality import noisy_query

    with (directory / "children.csv").open(newline="") as handle:
        people = list(csv.DictReader(handle))
    rng = random.Random(seed)  # noqa: S311 (a benchmark sample)
    chosen = rng.sample(people, min(count, len(people)))
    wanted = {p["person_id"] for p in chosen}
    children_of = _children_of(directory, wanted)
    out = []
    for row in chosen:
        if row["person_id"] not in children_of:
            continue
        kinds: dict[str, str] = {}
        query = {k: str(v) for k, v in noisy_query(rng, row, kinds).items() if v}
        text = urllib.parse.urlencode({**query, "limit": 5})
        out.append(TypedQuery(text, children_of[row["person_id"]], row, kinds))
    return out


def _children_of(directory: Path, wanted: set[str]) -> dict[str, set[str]]:
    """The ContactPoint IDs of each wanted person: as the linker left them, or as written directly."""
    import linkage_quality as lq

    from contactpoint.feeds.models import SourceRecord

    if (directory / "linked.csv").exists():
        import search_direct

        return {who: {child} for who, child in search_direct.linked(directory).items() if who in wanted}
    person, _ = lq.truth(directory)
    children_of: dict[str, set[str]] = {}
    records = SourceRecord.objects.filter(child__isnull=False).values_list(
        "source__code", "source_record_id", "child__contactpoint_id"
    )
    for source, srid, child in records.iterator(chunk_size=20000):
        if (who := person.get((source, srid))) in wanted:
            children_of.setdefault(who, set()).add(child)
    return children_of


def bench_keys() -> dict[str, str]:
    """The audit, data and tombstone keys every run uses, this process and every server it starts
    (a baseline's too), kept in a file so that later runs (and in-process modes) can unwrap the
    audit sealing keys and the candidate index key earlier ones wrapped in the kept databases. A
    database built with a checkout's own key: set CONTACTPOINT_DATA_KEK to it (var/data_kek)."""
    names = ("CONTACTPOINT_AUDIT_KEY", "CONTACTPOINT_DATA_KEK", "CONTACTPOINT_TOMBSTONE_KEY")
    path = Path(tempfile.gettempdir()) / "contactpoint-bench-keys.json"
    if not path.exists():
        path.write_text(json.dumps({name: secrets.token_hex(32) for name in names}))
        path.chmod(0o600)
    kept = json.loads(path.read_text())
    return {name: os.environ.get(name, kept[name]) for name in names}


def serve(
    name: str, workers: int, threads: int, *, port: int, root: Path = ROOT, cache_url: str = ""
) -> subprocess.Popen:
    """gunicorn serving the code in `root` (this checkout, or a baseline's) on `port`."""
    import socket

    with socket.socket() as probe:  # a server left on the port would answer in this one's place
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"Something already answers on port {port}: choose another with --port.")

    from contactpoint.audit.keys import configured_keys

    # The build's KEK: the candidate index key it wrapped must open in the server (linkage.blind).
    kek = ",".join(k.hex() for k in configured_keys("CONTACTPOINT_DATA_KEK", what="data key-encryption key"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "contactpoint.settings.production",
        "DATABASE_URL": database_url(name),
        "DJANGO_SECRET_KEY": secrets.token_hex(32),
        "CONTACTPOINT_DATA_KEK": kek,
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONTACTPOINT_API_RATE": "100000/min",  # the throttle still runs; the benchmark is one caller
        "LOG_LEVEL": "WARNING",
        # Connections live through the run: ServerCpu counts the backends it sees at both ends of
        # a phase, and a backend replaced in between would take its CPU seconds with it.
        "DATABASE_CONN_MAX_AGE": "3600",
        "CACHE_URL": cache_url or os.environ["CACHE_URL"],
        "PYTHONPATH": str(root),
    }
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "contactpoint.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            f"--threads={threads}",
            "--worker-class=gthread" if threads > 1 else "--worker-class=sync",
            "--preload",
            "--log-level=warning",
        ],
        cwd=root,
        env=env,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not answer /healthz within a minute")


class Client:
    """One keep-alive connection, as a case-management system keeps one open."""

    def __init__(self, token: str, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "X-Forwarded-Proto": "https",
        }

    def search(self, query: str) -> tuple[float, int, list[str]]:
        started = time.perf_counter()
        self.connection.request("GET", f"/api/v1/children/search?{query}", headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        ids = [hit["id"] for hit in json.loads(body)["results"]] if response.status == 200 else []
        return elapsed, response.status, ids


class ServerCpu:
    """CPU seconds used by the gunicorn workers and their PostgreSQL backends. On a shared machine
    wall-clock latency measures the queue for the cores as much as the search; CPU per search
    does not, and says what two idle cores would sustain (2,000 ms / CPU ms per search)."""

    def __init__(self, server: subprocess.Popen, database: str) -> None:
        self.server = server
        self.database = database

    def pids(self) -> list[int]:
        children = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children").read_text().split()
        backends = subprocess.run(
            ["psql", *PG, "-tAc", "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PGDATABASE": self.database},
        ).stdout.split()
        return [self.server.pid, *map(int, children), *map(int, backends)]

    def split(self) -> tuple[float, float]:
        """(the app's CPU seconds: gunicorn and its workers, the database backends' CPU seconds)."""
        pids = self.pids()
        workers = len(Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children").read_text().split())
        totals = [0, 0]
        for number, pid in enumerate(pids):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            totals[number > workers] += int(fields[11]) + int(fields[12])  # utime, stime
        return totals[0] / os.sysconf("SC_CLK_TCK"), totals[1] / os.sysconf("SC_CLK_TCK")


def cpu_per_search(cpu: ServerCpu, before: tuple[float, float], searches: int) -> dict[str, float]:
    """Server CPU per search since `before`, in all and the database backends' share of it."""
    app, database = (now - then for now, then in zip(cpu.split(), before, strict=True))
    return {
        "server_cpu_ms_per_search": round(1000 * (app + database) / searches, 2),
        "database_cpu_ms_per_search": round(1000 * database / searches, 2),
    }


def redis_cpu_seconds() -> float:
    """Redis's own CPU seconds (INFO cpu), where this checkout counts its rate limits: the server
    is shared by the machine, so its figure per search is an upper bound."""
    import redis

    info = (
        redis.Redis.from_url(os.environ["CACHE_URL"]).info("cpu")
        if "redis" in os.environ["CACHE_URL"]
        else {}
    )
    return float(info.get("used_cpu_user", 0.0)) + float(info.get("used_cpu_sys", 0.0))


def quantiles(latencies: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def single(tokens: list[str], work: list[tuple[str, set[str]]], cpu: ServerCpu, port: int) -> dict:
    client = Client(tokens[0], port)
    before, redis_before = cpu.split(), redis_cpu_seconds()
    latencies, statuses, first = [], [], 0
    for query, wanted in work:
        elapsed, status, ids = client.search(query)
        latencies.append(elapsed)
        statuses.append(status)
        first += bool(ids) and ids[0] in wanted
    p50, p95, p99 = quantiles(latencies)
    return {
        "searches": len(work),
        **cpu_per_search(cpu, before, len(work)),
        "redis_cpu_ms_per_search": round(1000 * (redis_cpu_seconds() - redis_before) / len(work), 3),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(p99, 1),
        "mean_ms": round(statistics.fmean(latencies), 1),
        "ok": statuses.count(200),
        "right_first": round(first / len(work), 4),
    }


def concurrent(
    tokens: list[str],
    work: list[tuple[str, set[str]]],
    clients: int,
    seconds: float,
    cpu: ServerCpu,
    port: int,
) -> dict:
    """`clients` threads, each searching back to back on its own connection for `seconds`."""
    stop = time.perf_counter() + seconds
    results: list[list[tuple[float, int]]] = [[] for _ in range(clients)]
    cpu_before = time.process_time()
    server_before, redis_before = cpu.split(), redis_cpu_seconds()

    def drive(number: int) -> None:
        client = Client(tokens[number % len(tokens)], port)
        rng = random.Random(number)  # noqa: S311 (a benchmark sample)
        while time.perf_counter() < stop:
            elapsed, status, _ = client.search(rng.choice(work)[0])
            results[number].append((elapsed, status))

    started = time.perf_counter()
    threads = [threading.Thread(target=drive, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    done = [r for per in results for r in per]
    p50, p95, p99 = quantiles([e for e, _ in done])
    return {
        "clients": clients,
        "searches": len(done),
        "per_second": round(len(done) / wall, 1),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(p99, 1),
        "ok": sum(1 for _, s in done if s == 200),
        **cpu_per_search(cpu, server_before, len(done)),
        "redis_cpu_ms_per_search": round(1000 * (redis_cpu_seconds() - redis_before) / len(done), 3),
        "client_cpu_share": round((time.process_time() - cpu_before) / wall, 2),
    }


def profile(tokens: list[str], work: list[tuple[str, set[str]]], count: int) -> None:
    """The same requests in this process through Django's test client, under cProfile: where a
    search's time goes (middleware, token, search, door, audit), without the server around it."""
    import cProfile
    import pstats

    from django.test import Client as DjangoClient

    client = DjangoClient(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
    for query, _ in work[:50]:
        client.get(f"/api/v1/children/search?{query}")
    # This process's CPU time, not the wall clock: on a shared machine waiting for a core (or for
    # the database) would otherwise fill the profile.
    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    profiler.enable()
    for query, _ in work[:count]:
        response = client.get(f"/api/v1/children/search?{query}")
        assert response.status_code == 200, response.content
    profiler.disable()
    each = 1000 * (time.process_time() - started) / count
    print(f"{count} searches in-process: {each:.1f} ms of this process's CPU each (profiled)")
    if path := os.environ.get("SEARCH_PROFILE_OUT"):
        profiler.dump_stats(path)  # for pstats' callers and callees
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)


def explain(tokens: list[str], work: list[tuple[str, set[str]]], count: int) -> None:
    """EXPLAIN ANALYZE of every statement one search runs on the candidate index (the key index
    and the trigram index in one statement), for `count` sampled queries, for docs/benchmarks.md."""
    from django.db import connection

    from contactpoint.api.search import SearchIn, criteria_checked
    from contactpoint.search.selectors import SearchCriteria, _candidates

    for query, _ in work[:count]:
        fields = SearchIn(data=dict(urllib.parse.parse_qsl(query)))
        fields.is_valid(raise_exception=True)
        data = dict(fields.validated_data)
        data.pop("limit")
        captured: list[tuple[str, Any]] = []

        def keep(execute, sql, params, many, context, captured=captured):  # prepared ones too
            captured.append((sql, params))
            return execute(sql, params, many, context)

        with connection.execute_wrapper(keep):
            _candidates(criteria_checked(SearchCriteria(**data)))
        print(f"\n-- {query}")
        with connection.cursor() as cursor:
            for sql, params in captured:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", params)
                print(sql[:400])
                print("\n".join(row[0] for row in cursor.fetchall()))


def misses(directory: Path, seed: int, count: int, detail: int = 12) -> None:
    """Right first or not for `count` typed queries, in-process, and every miss classified: the
    right child not among the candidates (a gap in the candidate lookup), among them but below the
    minimum evidence, hidden by "too many matches", or outranked — and then by whom (a twin, a
    sibling, a namesake born the same day...) and on which comparison the first result gained most
    over the right child. Printed as a breakdown by how each field of the query was typed, and the
    first `detail` outranked misses with both children's levels."""
    from collections import Counter, defaultdict

    import search_direct

    person_of = {child: who for who, child in search_direct.linked(directory).items()}
    with (directory / "children.csv").open(newline="") as handle:
        people = {row["person_id"]: row for row in csv.DictReader(handle)}
    by_kind: dict[str, Counter] = defaultdict(Counter)
    classes: Counter = Counter()
    gained: Counter = Counter()
    search = _InProcessSearch()
    work = typed_queries(directory, count, seed)
    for typed in work:
        ranked, too_many, limit = search.ranked(typed.text)
        ids = [] if too_many else [hit.id for hit in ranked[:limit]]
        verdict = _miss_class(typed, ranked, too_many, search.scope, person_of, people)
        if verdict.startswith("outranked"):
            gain = search.gain(typed.wanted, ranked[0].id, show=f"{verdict}: {typed.text}" if detail else "")
            gained[gain] += 1
            detail = max(0, detail - 1)
        rank = next((n for n, i in enumerate(ids) if i in typed.wanted), None)
        classes[verdict] += 1
        for kind in typed.kinds.values():
            tally = by_kind[kind]
            tally["queries"] += 1
            tally["right first"] += rank == 0
            tally["top 5"] += rank is not None
            tally[verdict] += verdict != "right first"
    print(f"\n{len(work)} typed queries: right first {classes['right first'] / len(work):.4f}")
    print("miss classes:", json.dumps(dict(classes.most_common()), indent=1))
    print("the first result's largest gain over the right child:", dict(gained.most_common()))
    _breakdown(by_kind, [c for c, _ in classes.most_common() if c != "right first"])


def _breakdown(by_kind: dict, columns: list[str]) -> None:
    print("\n| query kind | queries | right first | top 5 | " + " | ".join(columns) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(columns))
    for kind, tally in sorted(by_kind.items()):
        q = tally["queries"]
        cells = " | ".join(str(tally[c]) for c in columns)
        print(f"| {kind} | {q} | {tally['right first'] / q:.4f} | {tally['top 5'] / q:.4f} | {cells} |")


class _InProcessSearch:
    """The search's own steps (candidates, scope, ranking), kept for a look at a miss."""

    def __init__(self) -> None:
        from contactpoint.access.tests.factories import actor_for
        from contactpoint.linkage.scoring import current_model
        from contactpoint.records.models import Organisation, OrganisationKind
        from contactpoint.search import selectors

        self.selectors = selectors
        self.model = current_model()
        try:  # the ranking as a function of every candidate's scope (the search reads fewer since ADR 0019)
            from contactpoint.search.tests import reference

            self.rank, self.score = reference.rank_exhaustive, reference._score
        except ImportError:  # a checkout from before it
            self.rank, self.score = selectors._rank, selectors._score  # type: ignore[assignment]
        self.actor = actor_for(
            "practitioner",
            Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY).all()[0],
            username=f"bench-misses-{secrets.token_hex(3)}",
        )
        self.scope: dict = {}

    def ranked(self, text: str) -> tuple[list, bool, int]:
        """The ranked hits of a query string as the API reads it, whether they are too many, the cap."""
        from contactpoint.access.door import search_scope
        from contactpoint.api.search import SearchIn, criteria_checked

        fields = SearchIn(data=dict(urllib.parse.parse_qsl(text)))
        fields.is_valid(raise_exception=True)
        data = dict(fields.validated_data)
        limit = data.pop("limit")
        self.criteria = criteria_checked(self.selectors.SearchCriteria(**data))
        self.candidates = self.selectors._candidates(self.criteria)
        self.scope = search_scope(self.actor, sorted(self.candidates))
        ranked = self.rank(self.criteria, self.candidates, self.scope, self.model)
        return (
            ranked,
            len(ranked) > limit and ranked[limit].score >= self.selectors._strong(self.model),
            limit,
        )

    def gain(self, wanted: set[str], first: str, show: str) -> str:
        """The comparison on which `first` gained most over the wanted child (printed if `show`)."""
        from contactpoint.linkage.model import COMPARISONS

        right_pk = next(pk for pk, f in self.scope.items() if f.contactpoint_id in wanted)
        first_pk = next(pk for pk, f in self.scope.items() if f.contactpoint_id == first)
        best = {pk: self.best(pk) for pk in (right_pk, first_pk)}
        gaps = [w - r for w, r in zip(best[first_pk].weights, best[right_pk].weights, strict=True)]
        top = max(range(len(gaps)), key=gaps.__getitem__)
        if show:
            print(f"\nmiss: {show}")
            for label, pk in (("right", right_pk), ("first", first_pk)):
                found, scored = self.scope[pk], best[pk]
                levels = ", ".join(
                    f"{c.name}={scored.level_label(i)}"
                    for i, c in enumerate(COMPARISONS)
                    if scored.levels[i] >= 0
                )
                print(
                    f"  {label}: {found.given_name} {found.family_name} {found.date_of_birth} {found.gender}"
                    f" {found.postcode_district}, evidence {scored.evidence:.2f}: {levels}"
                )
        return COMPARISONS[top].name if gaps[top] > 0 else "nothing: equal evidence"

    def best(self, pk: int):
        """A child's best-scoring pair, as `_rank` finds it (with the queries it ranks with:
        before ADR 0018 the swapped date's too)."""
        selectors, criteria, found = self.selectors, self.criteria, self.scope[pk]
        try:
            queries = selectors._queries(criteria, swapped_dates=False)
        except TypeError:
            queries = selectors._queries(criteria)
        scores = (self.score(self.model, q, r, found, criteria) for q in queries for r in self.candidates[pk])
        return max(scores, key=lambda s: s.evidence)


def _miss_class(typed, ranked, too_many, scope, person_of, people) -> str:
    """Where the right child went: its first place, or the reason it lost it."""
    if ranked and ranked[0].id in typed.wanted and not too_many:
        return "right first"
    if too_many:
        return "too many matches"
    if not any(f.contactpoint_id in typed.wanted for f in scope.values()):
        return "not a candidate"
    if not any(hit.id in typed.wanted for hit in ranked):
        return "below the minimum evidence"
    right, first = typed.person, people.get(person_of.get(ranked[0].id, ""), {})
    tied = ranked[0].score == next(hit.score for hit in ranked if hit.id in typed.wanted)
    same = [f for f in ("given_name", "family_name", "date_of_birth") if right[f] == first.get(f)]
    if first.get("birth_group") == right["birth_group"]:
        who = "twin"
    elif first.get("household_id") == right["household_id"]:
        who = "sibling"
    elif len(same) == 3:
        who = "namesake born the same day"
    elif same == ["family_name", "date_of_birth"]:
        who = "same family name and birth date"
    elif same == ["given_name", "date_of_birth"]:
        who = "same given name and birth date"
    else:
        who = "other (" + (", ".join(same) or "nothing") + " the same)"
    return f"outranked{' (tie)' if tied else ''} by {who}"


def search_events() -> int:
    from contactpoint.audit.models import AuditEvent, EventType

    return AuditEvent.objects.filter(event_type=EventType.SEARCH).count()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--children", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread if > 1)")
    parser.add_argument("--single", type=int, default=1000, help="searches by one client alone")
    parser.add_argument("--clients", default="1,4,8,16", help="concurrent client counts")
    parser.add_argument("--seconds", type=float, default=20.0, help="per concurrent case")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--direct",
        action="store_true",
        help="write the index as if linked (bench/search_direct.py) instead of loading and linking",
    )
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument(
        "--database", help="the kept database's name (default cp_searchbench_[direct_]N): one per checkout"
    )
    parser.add_argument("--profile", type=int, default=0, help="profile N searches in-process and stop")
    parser.add_argument("--explain", type=int, default=0, help="query plans of N searches' candidates")
    parser.add_argument("--statements", type=int, default=0, help="statements per search over N searches")
    parser.add_argument(
        "--misses", type=int, default=0, help="classify the misses of N typed queries (in-process) and stop"
    )
    parser.add_argument("--port", type=int, default=8765, help="this checkout's server (a baseline's: +1)")
    parser.add_argument(
        "--baseline",
        help="another checkout (say a `git archive main` copy) served side by side, phase by phase",
    )
    parser.add_argument(
        "--baseline-cache", default="db://contactpoint_cache", help="the baseline's CACHE_URL"
    )
    args = parser.parse_args()
    name = args.database or f"cp_searchbench_{'direct_' if args.direct else ''}{args.children}"
    building = build_direct if args.direct else build
    directory = building(name, args.children, args.seed, rebuild=args.rebuild)
    if args.build_only:
        return

    from django.db import connection

    if args.misses:
        misses(directory, args.seed, args.misses)
        return
    tokens = practitioners(16)
    work = queries(directory, max(args.single, 2000), args.seed)
    if args.profile or args.explain:
        if args.explain:
            explain(tokens, work, args.explain)
        if args.profile:
            profile(tokens, work, args.profile)
        return
    if args.statements:
        statements(tokens, work, args.statements)
        return
    connection.close()
    sides = [("this", ROOT, args.port, os.environ["CACHE_URL"])]
    if args.baseline:
        sides.insert(0, ("baseline", Path(args.baseline).resolve(), args.port + 1, args.baseline_cache))
    servers: dict[str, tuple[subprocess.Popen, int]] = {}
    results: dict[str, dict] = {}
    try:
        events = search_events()
        connection.close()
        for label, root, port, cache_url in sides:
            if cache_url.startswith("db://"):  # its table, which migrate makes (api.apps)
                subprocess.run(
                    [sys.executable, "-m", "contactpoint.manage", "migrate", "--verbosity", "0"],
                    cwd=root,
                    env={
                        **os.environ,
                        "PYTHONPATH": str(root),
                        "DATABASE_URL": database_url(name),
                        "CACHE_URL": cache_url,
                    },
                    check=True,
                )
            servers[label] = (
                serve(name, args.workers, args.threads, port=port, root=root, cache_url=cache_url),
                port,
            )
            warm = Client(tokens[0], port)
            for query, _ in work[:200]:
                warm.search(query)
            results[label] = {"code": str(root), "cache": cache_url, "concurrent": []}
        # Each phase runs for every side before the next phase starts: on a shared machine the
        # load changes by the minute, and alternating keeps both sides under the same load.
        for label, (server, port) in servers.items():
            results[label]["single"] = single(tokens, work[: args.single], ServerCpu(server, name), port)
            print(label, json.dumps(results[label]["single"]), flush=True)
        for clients in [int(c) for c in args.clients.split(",")]:
            for label, (server, port) in servers.items():
                case = concurrent(tokens, work, clients, args.seconds, ServerCpu(server, name), port)
                print(label, json.dumps(case), flush=True)
                results[label]["concurrent"].append(case)
        sent = sum(200 + args.single + sum(c["searches"] for c in r["concurrent"]) for r in results.values())
        audit_events_per_search = round((search_events() - events) / sent, 3)
        connection.close()
    finally:
        for server, _ in servers.values():
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    result = {
        "children": args.children,
        "workers": args.workers,
        "threads": args.threads,
        "sides": results,
        "audit_events_per_search": audit_events_per_search,
        "load_average_at_end": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=1))
    print(
        f"Reproduce: CACHE_URL={os.environ['CACHE_URL']} .venv/bin/python bench/search_http.py"
        f" --children {args.children} --seed {args.seed}{' --direct' if args.direct else ''}"
        f" --workers {args.workers} --threads {args.threads} --clients {args.clients}"
        f" --seconds {args.seconds:g} --single {args.single}"
        + (f" --baseline {args.baseline} --baseline-cache {args.baseline_cache}" if args.baseline else "")
    )


def statements(tokens: list[str], work: list[tuple[str, set[str]]], count: int) -> None:
    """Database statements per search through the whole request (token, throttle, search, audit),
    in-process with the cache CACHE_URL names; run it from a baseline's checkout for its count."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {tokens[0]}")
    for query, _ in work[:20]:
        client.get(f"/api/v1/children/search?{query}")
    with CaptureQueriesContext(connection) as captured:
        for query, _ in work[:count]:
            assert client.get(f"/api/v1/children/search?{query}").status_code == 200
    kinds: dict[str, int] = {}
    for statement in captured.captured_queries:
        kind = statement["sql"].split(None, 1)[0].upper()
        kinds[kind] = kinds.get(kind, 0) + 1
    per_kind = {kind: round(n / count, 2) for kind, n in sorted(kinds.items())}
    print(
        json.dumps(
            {
                "code": str(ROOT),
                "cache": os.environ["CACHE_URL"],
                "statements_per_search": round(len(captured.captured_queries) / count, 2),
                "by_kind": per_kind,
            }
        )
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "0")  # no query log in this process either
    os.environ.setdefault("CONTACTPOINT_API_RATE", "100000/min")
    os.environ.setdefault("CACHE_URL", "redis://127.0.0.1:6379/0")  # production's (ADR 0017)
    os.environ.update(bench_keys())
    main()
