"""What auditing costs a record view, and how many audited views a second the database sustains.

Run:  .venv/bin/python bench/audited_reads.py [--children 200] [--reads 300] [--rounds 3]
       [--processes 1,2,4] [--seconds 10] [--baseline-tree DIR] [--baseline-door MODULE]
Fills a fresh PostgreSQL database with children whose records span every item table (name and
former name, gender, birth date, address, NHS number, two carers, school, GP, two involvements),
then:
1. in one process per code tree, times the same record views with and without their audit event
   (the door's `audit_record` patched out for the second), alternating in rounds so machine noise
   hits both alike, in three cases:
   - `door`: `child_record_for` called directly (the door and its transaction only);
   - `api`: GET /api/v1/children/<id> through Django's full request handling (middleware, token
     authentication, throttle, the door, serializer, JSON rendering, ETag), as a system reading a
     record gets it, minus the network and the WSGI server;
   - `event`: the view's audit event alone, each in its own transaction (no unaudited twin).
   For each it prints wall-clock time and CPU (the process's own plus its PostgreSQL backend's,
   which the queue for the cores does not inflate) per view, and the audited / unaudited ratios
   (target: at most 1.2). With --baseline-tree DIR (an earlier export, e.g.
   `rm -rf /tmp/cp-main && mkdir /tmp/cp-main && git archive main | tar -x -C /tmp/cp-main`),
   that tree's code runs the same rounds against its own database, built by its own migrations,
   so old and new code (and their indexes) are measured side by side under the same load.
   --baseline-door MODULE adds a `door` case through an earlier copy of the door in this tree;
2. runs P processes, each with its own connection, doing audited views through the door for
   --seconds, for each P in --processes (empty: skip); prints audited views per second (target:
   at least 500);
3. the same with each process writing only the views' audit events: the log's own capacity, to
   show whether the audit write or the record read limits throughput.
"""

import argparse
import contextlib
import importlib
import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, cast
from unittest import mock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")
TREE = Path(__file__).resolve().parent.parent
DATABASE = "contactpoint_bench_reads"
REASON = "Benchmark: referral received"
CASES = ("door", "api", "event")


def prepare_database(database: str = DATABASE) -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", database], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", database], check=True)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{database}"


def fill(children: int) -> None:
    import datetime

    from django.utils import timezone

    from contactpoint.access.services import roles_sync, user_create
    from contactpoint.records.models import (
        Carer,
        ChildBirthDate,
        ChildGender,
        EducationSetting,
        GPRegistration,
        Organisation,
        OrganisationKind,
        ServiceType,
    )
    from contactpoint.records.tests.factories import (
        ChildAddressFactory,
        ChildFactory,
        ChildIdentifierFactory,
        ChildNameFactory,
        InvolvementFactory,
        OrganisationFactory,
        SourceFactory,
    )

    roles_sync()
    la = OrganisationFactory(kind=OrganisationKind.LOCAL_AUTHORITY, code="383")
    school = cast(Organisation, OrganisationFactory(kind=OrganisationKind.SCHOOL, local_authority=la))
    gp = cast(Organisation, OrganisationFactory(kind=OrganisationKind.GP_PRACTICE, local_authority=la))
    nhs = OrganisationFactory(kind=OrganisationKind.NATIONAL_BODY)
    user_create(username="bench", role_code="practitioner", organisation_code="383", vetted=True)
    source = SourceFactory()
    now = timezone.now()
    for n in range(children):
        child = ChildFactory()
        item = {"child": child, "source": source, "source_record_id": f"B{n}", "asserted_at": now}
        ChildNameFactory(child=child, source=source, is_chosen=True)
        ChildNameFactory(child=child, source=source, kind="former", family_name="Ahmed")
        ChildGender.objects.create(**item, is_chosen=True, gender="female")
        born = datetime.date(2015, 3, 14)
        ChildBirthDate.objects.create(**item, is_chosen=True, date_of_birth=born)  # type: ignore[misc]  # sealed
        ChildAddressFactory(child=child, source=source, local_authority=la, is_chosen=True)
        ChildIdentifierFactory(child=child, source=source, issuer=nhs)
        for given, relationship in (("Sara", "mother"), ("Omar", "father")):
            contact = {"given_name": given, "family_name": "Khan", "phone": "07700 900001"}  # sealed fields
            Carer.objects.create(**item, **contact, relationship=relationship)
        EducationSetting.objects.create(**item, organisation=school, start_date=datetime.date(2020, 9, 1))
        GPRegistration.objects.create(**item, organisation=gp, start_date=datetime.date(2015, 3, 20))
        InvolvementFactory(child=child, source=source, organisation=la, is_lead_professional=True)
        InvolvementFactory(child=child, source=source, service_type=ServiceType.HEALTH_VISITING)


def _reader():
    """The acting practitioner and the children to read, as a worker process sees them."""
    from django.contrib.auth import get_user_model

    from contactpoint.access.actors import Actor
    from contactpoint.records.models import Child

    actor = Actor.for_user(get_user_model().objects.get(username="bench"))
    return actor, list(Child.objects.order_by("pk"))


class Views:
    """One tree's record views, timed in its own process: the door called directly, the API's
    record endpoint through Django's request handling, or the view's audit event alone."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from contactpoint.access.services import api_token_issue

        self.actor, self.children = _reader()
        token = api_token_issue(user=get_user_model().objects.get(username="bench"), name="bench")
        self.client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")

    def run(self, case: str, reads: int, *, audited: bool, door: str = "contactpoint.access.door") -> int:
        """Does `reads` views of the case; returns the statements the last one sent."""
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        one = self._one(case, door)
        with contextlib.nullcontext() if audited else mock.patch(f"{door}.audit_record"):
            for i in range(reads - 1):
                one(self.children[i % len(self.children)])
            with CaptureQueriesContext(connection) as captured:
                one(self.children[(reads - 1) % len(self.children)])
        return len(captured.captured_queries)

    def _one(self, case: str, door: str):
        from contactpoint.audit.models import EventType
        from contactpoint.audit.services import audit_record

        child_record_for = importlib.import_module(door).child_record_for

        def door_view(child) -> None:
            child_record_for(self.actor, child, reason=REASON)

        def api_view(child) -> None:
            response = self.client.get(
                f"/api/v1/children/{child.contactpoint_id}", HTTP_X_ACCESS_REASON=REASON
            )
            if response.status_code != 200:
                raise RuntimeError(f"the API answered {response.status_code}: {response.content[:200]!r}")

        def event(child) -> None:
            audit_record(
                event_type=EventType.VIEW, actor=self.actor, child_ids=[child.contactpoint_id], reason=REASON
            )

        return {"door": door_view, "api": api_view, "event": event}[case]


def serve(tree: str, database: str, children: int) -> None:
    """A timing process for one code tree: builds its database with that tree's migrations, then
    answers the parent's requests (one JSON line each) with wall-clock and CPU seconds."""
    sys.path.insert(0, tree)
    os.environ["CONTACTPOINT_API_RATE"] = "1000000/min"  # the benchmark is one token reading fast
    prepare_database(database)
    import django

    django.setup()
    from django.core.management import call_command

    import contactpoint

    call_command("migrate", verbosity=0)
    fill(children)
    views = Views()
    print(json.dumps({"ready": str(Path(contactpoint.__file__).parent.parent)}), flush=True)
    for line in sys.stdin:
        ask = json.loads(line)
        cpu, started = time.process_time() + backend_cpu(), time.perf_counter()
        queries = views.run(ask["case"], ask["reads"], audited=ask["audited"], door=ask["door"])
        wall, cpu = time.perf_counter() - started, time.process_time() + backend_cpu() - cpu
        print(json.dumps({"wall": wall, "cpu": cpu, "queries": queries}), flush=True)


class Server:
    def __init__(self, tree: str, database: str, children: int) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", tree, "--database", database]
        self.process = subprocess.Popen(
            [*command, "--children", str(children)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.tree = self._answer()["ready"]

    def time(self, case: str, reads: int, *, audited: bool, door: str) -> dict[str, float]:
        assert self.process.stdin
        ask = {"case": case, "reads": reads, "audited": audited, "door": door}
        self.process.stdin.write(json.dumps(ask) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def _answer(self) -> dict[str, Any]:
        assert self.process.stdout
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a timing process stopped; see its error above")
        return json.loads(line)

    def stop(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()
        self.process.wait()


def backend_cpu() -> float:
    """CPU seconds this process's PostgreSQL backend has used (the server is on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker(seconds: float, what: str) -> tuple[int, float]:
    """Audited record views, or (what == "events") the view's audit event alone, for `seconds`;
    returns how many, and the CPU seconds they took in this process and its database backend
    (on a shared machine wall-clock rates measure the queue for the cores; CPU per view does not)."""
    import django

    django.setup()
    from contactpoint.access.door import child_record_for
    from contactpoint.audit.models import EventType
    from contactpoint.audit.services import audit_record

    actor, children = _reader()
    cpu = time.process_time() + backend_cpu()
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        child = children[done % len(children)]
        if what == "events":
            audit_record(
                event_type=EventType.VIEW, actor=actor, child_ids=[child.contactpoint_id], reason=REASON
            )
        else:
            child_record_for(actor, child, reason=REASON)
        done += 1
    return done, time.process_time() + backend_cpu() - cpu


def side_by_side(args: argparse.Namespace) -> None:
    """Part 1: each tree in its own process and database, the cases in alternating rounds."""
    trees = {"new": (str(TREE), args.database)}
    if args.baseline_tree:
        trees = {"baseline": (str(Path(args.baseline_tree).resolve()), args.database + "_base"), **trees}
    servers = {label: Server(tree, database, args.children) for label, (tree, database) in trees.items()}
    runs = [(label, case, "contactpoint.access.door") for case in CASES for label in servers]
    if args.baseline_door:
        runs.append(("new", "door-baseline", args.baseline_door))
    totals: dict[tuple[str, str, bool], list[float]] = {}
    queries: dict[tuple[str, str], float] = {}
    for label, case, door in runs:  # warm caches, connections and compiled queries
        servers[label].time(case.split("-")[0], 50, audited=True, door=door)
    for _ in range(args.rounds):
        for label, case, door in runs:
            for audited in (False, True) if case != "event" else (True,):
                got = servers[label].time(case.split("-")[0], args.reads, audited=audited, door=door)
                total = totals.setdefault((label, case, audited), [0.0, 0.0])
                total[0] += got["wall"]
                total[1] += got["cpu"]
                if audited:
                    queries[(label, case)] = got["queries"]
    for server in servers.values():
        server.stop()
    n = args.reads * args.rounds
    for label, (tree, _) in trees.items():
        print(f"{label}: {tree}")
    print(
        f"one process per tree, {n} views per case each way; per view, wall clock / CPU (process + backend)"
    )
    for label, case, _ in runs:
        wall, cpu = (1000 * x / n for x in totals[(label, case, True)])
        statements = queries[(label, case)]
        line = f"{case:>13} {label:>8}: audited {wall:6.2f} / {cpu:5.2f} ms, {statements:.0f} statements"
        if case != "event":
            plain_wall, plain_cpu = (1000 * x / n for x in totals[(label, case, False)])
            line += (
                f"; without audit {plain_wall:6.2f} / {plain_cpu:5.2f} ms; cost ratio audited / unaudited "
                f"{wall / plain_wall:.2f} wall, {cpu / plain_cpu:.2f} CPU (target ≤ 1.2)"
            )
        print(line, flush=True)
    if "baseline" in servers:
        for case in CASES:
            new, old = totals[("new", case, True)], totals[("baseline", case, True)]
            wall, cpu = new[0] / old[0], new[1] / old[1]
            print(f"{case:>13}: new / baseline per audited view {wall:.2f} wall, {cpu:.2f} CPU")


def throughput(args: argparse.Namespace) -> None:
    """Parts 2 and 3: audited views, then events alone, from P processes at once."""
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    spawn = multiprocessing.get_context("spawn")
    for what in ("views", "events"):
        for processes in (int(p) for p in args.processes.split(",") if p):
            with spawn.Pool(processes) as pool:
                results = pool.starmap(_worker, [(args.seconds, what)] * processes)
            done = sum(n for n, _ in results)
            cpu_ms = 1000 * sum(c for _, c in results) / max(done, 1)
            label = "audited views/s (target ≥ 500)" if what == "views" else "audit events alone/s"
            print(
                f"{processes} processes for {args.seconds:.0f} s: {done / args.seconds:7.0f} {label}, "
                f"{cpu_ms:.2f} ms CPU each (client + backend: two idle cores would do "
                f"{2000 / cpu_ms if cpu_ms else 0:.0f}/s)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", default="1,2,4", help="comma-separated; empty skips parts 2 and 3")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--baseline-tree", default="", help="an earlier export of the code to time alongside")
    parser.add_argument("--baseline-door", default="", help="an earlier door module to time alongside")
    parser.add_argument("--serve", default="", help=argparse.SUPPRESS)
    parser.add_argument("--database", default=DATABASE, help="made afresh; the baseline tree's gets _base")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.database, args.children)
        return
    print("load average (1, 5, 15 min) at the start: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    side_by_side(args)
    throughput(args)
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(
        f"reproduce: {sys.executable} bench/audited_reads.py --children {args.children} --reads {args.reads} "
        f"--rounds {args.rounds} --processes '{args.processes}' --seconds {args.seconds:g}"
        + (f" --baseline-tree {args.baseline_tree}" if args.baseline_tree else "")
        + (f" --baseline-door {args.baseline_door}" if args.baseline_door else "")
        + (f" --database {args.database}" if args.database != DATABASE else "")
    )


if __name__ == "__main__":
    main()
