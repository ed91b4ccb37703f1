"""What auditing costs a record view, and how many audited views a second the database sustains.

Run:  .venv/bin/python bench/audited_reads.py [--children 200] [--reads 300] [--processes 1,2,4]
       [--baseline-door MODULE]
Fills a fresh PostgreSQL database with children whose records span every item table (name and
former name, gender, birth date, address, NHS number, two carers, school, GP, two involvements),
then:
1. in one process, times the same record views through the door with and without the audit
   event (the event's write is patched out for the second), alternating in rounds so machine
   noise hits both alike; prints the ratio (target: at most 1.2) and the queries per view.
   With --baseline-door, an earlier copy of the door (say
   `git show main:contactpoint/access/door.py > contactpoint/access/door_baseline.py`, then
   `--baseline-door contactpoint.access.door_baseline`) is timed the same way in the same rounds,
   so before and after are measured side by side under the same load;
2. runs P processes, each with its own connection, doing audited views for --seconds, for each
   P in --processes; prints audited views per second (target: at least 500);
3. the same with each process writing only the views' audit events: the log's own capacity, to
   show whether the audit write or the record read limits throughput.
"""

import argparse
import contextlib
import importlib
import multiprocessing
import os
import subprocess
import sys
import time
from typing import cast
from unittest import mock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")
DATABASE = "contactpoint_bench_reads"
REASON = "Benchmark: referral received"


def prepare_database() -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"


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
        ChildBirthDate.objects.create(**item, is_chosen=True, date_of_birth=datetime.date(2015, 3, 14))
        ChildAddressFactory(child=child, source=source, local_authority=la, is_chosen=True)
        ChildIdentifierFactory(child=child, source=source, issuer=nhs)
        for given, relationship in (("Sara", "mother"), ("Omar", "father")):
            Carer.objects.create(
                **item, given_name=given, family_name="Khan", relationship=relationship, phone="07700 900001"
            )
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


def time_views(reads: int, *, audited: bool, door: str = "contactpoint.access.door") -> float:
    child_record_for = importlib.import_module(door).child_record_for
    actor, children = _reader()
    with contextlib.nullcontext() if audited else mock.patch(f"{door}.audit_record"):
        started = time.perf_counter()
        for i in range(reads):
            child_record_for(actor, children[i % len(children)], reason=REASON)
        return time.perf_counter() - started


def queries_per_view(door: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    child_record_for = importlib.import_module(door).child_record_for
    actor, children = _reader()
    with CaptureQueriesContext(connection) as captured:
        child_record_for(actor, children[0], reason=REASON)
    return len(captured.captured_queries)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=200)
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--baseline-door", default="", help="an earlier door module to time alongside")
    args = parser.parse_args()
    prepare_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0)
    fill(args.children)
    doors = {"door": "contactpoint.access.door"}
    if args.baseline_door:
        doors = {"baseline": args.baseline_door, **doors}
    plain = dict.fromkeys(doors, 0.0)
    audited = dict.fromkeys(doors, 0.0)
    for module in doors.values():
        time_views(200, audited=True, door=module)  # warm caches and connections
    for _ in range(args.rounds):
        for label, module in doors.items():
            plain[label] += time_views(args.reads, audited=False, door=module)
            audited[label] += time_views(args.reads, audited=True, door=module)
    total = args.reads * args.rounds
    for label, module in doors.items():
        print(
            f"{label:>8}, one process, {total} views each way: without audit {total / plain[label]:5.0f}/s "
            f"({1000 * plain[label] / total:.2f} ms), audited {total / audited[label]:5.0f}/s "
            f"({1000 * audited[label] / total:.2f} ms), cost ratio {audited[label] / plain[label]:.2f} "
            f"(target ≤ 1.2), {queries_per_view(module)} queries per audited view",
            flush=True,
        )
    connections.close_all()
    spawn = multiprocessing.get_context("spawn")
    for what in ("views", "events"):
        for processes in (int(p) for p in args.processes.split(",")):
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
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(
        f"reproduce: {sys.executable} bench/audited_reads.py --children {args.children} --reads {args.reads} "
        f"--rounds {args.rounds} --processes {args.processes} --seconds {args.seconds:g}"
        + (f" --baseline-door {args.baseline_door}" if args.baseline_door else "")
    )


if __name__ == "__main__":
    main()
