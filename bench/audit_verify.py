"""How fast the audit chain is sealed and verified, and what that means for 100 million events.

Run:  .venv/bin/python bench/audit_verify.py [--sizes 100000,300000] [--database postgres] [--workers 2]
Fills a fresh database with signed events (bulk insert), seals them (a checkpoint every
--seal-batch events, as a sealer running every minute would leave), and times verify_log over the
whole log at each size, in one process and then in --workers processes (checkpoint segments),
side by side in one run; extrapolates linearly to 100M events.
"""

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
import uuid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")


def prepare_database(kind: str) -> None:
    if kind == "postgres":
        name = "contactpoint_bench_audit"
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", name], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", name], check=True)
        os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp()}/audit.sqlite3"


def fill(count: int) -> None:
    from django.utils import timezone

    from contactpoint.audit import keys
    from contactpoint.audit.models import AuditEvent
    from contactpoint.audit.services import canonical

    now = timezone.now() - datetime.timedelta(minutes=5)
    batch = []
    for i in range(count):
        values = {
            "uid": uuid.uuid4(),
            "occurred_at": now,
            "event_type": "search",
            "outcome": "success",
            "actor_user_id": i % 500,
            "actor_username": f"user{i % 500}",
            "actor_role": "practitioner",
            "actor_organisation": "1383001",
            "actor_local_authority": "383",
            "on_behalf_of": "",
            "client": "10.0.0.1 bench",
            "reason": "",
            "child_ids": [f"CP{i:013d}"],
            "details": {"family_name": "Khan", "date_of_birth": "2015-03-14", "returned": 1},
        }
        batch.append(AuditEvent(mac=keys.sign(canonical(values)), key_id=keys.key_id(), **values))
        if len(batch) == 10_000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,300000")
    parser.add_argument("--database", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seal-batch", type=int, default=10_000)
    args = parser.parse_args()
    prepare_database(args.database)
    import django

    django.setup()
    from django.core.management import call_command

    from contactpoint.audit.services import chain_seal
    from contactpoint.audit.verify import verify_log

    call_command("migrate", verbosity=0)
    total, rates = 0, []
    for size in (int(s) for s in args.sizes.split(",")):
        fill(size - total)
        total = size
        started = time.perf_counter()
        while chain_seal(grace=datetime.timedelta(0), limit=args.seal_batch):
            pass
        sealed = time.perf_counter() - started
        timings = {}
        for workers in (1, args.workers):
            started = time.perf_counter()
            verdict = verify_log(workers=workers)
            timings[workers] = time.perf_counter() - started
            assert verdict.intact and verdict.events_checked == size, verdict.problems[:1]
        rates.append(size / timings[1])
        for workers, verified in timings.items():
            print(
                f"{args.database:>9} {size:>9} events  seal(new) {sealed:6.1f} s  workers {workers}  "
                f"verify {verified:6.1f} s  {size / verified:8.0f} events/s  "
                f"100M ≈ {1e8 / (size / verified) / 60:5.0f} min",
                flush=True,
            )
        speed_up = timings[1] / timings[args.workers]
        print(f"{'':>9} {size:>9} events  speed-up with {args.workers} workers: {speed_up:.2f}")
    print(f"single-process verify rate ratio largest/smallest: {rates[-1] / rates[0]:.2f}")
    print(
        f"reproduce: {sys.executable} bench/audit_verify.py --sizes {args.sizes} --database {args.database} "
        f"--workers {args.workers} --seal-batch {args.seal_batch}"
    )


if __name__ == "__main__":
    main()
