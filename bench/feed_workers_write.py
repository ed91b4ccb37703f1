"""Upper bound for one loader design: validation workers that also write their own batches.

Run:  .venv/bin/python bench/feed_workers_write.py --file POPULATION/gp_registration.csv [--workers 2]
Each worker validates a batch with the loader's own `prepare` and COPYs it into a scratch
PostgreSQL database over its own connection; no ledger, classification, warnings or quarantine
rows are written, so this bounds what moving the writes into the workers could reach. Compare
with `bench/feed_load.py` on the same file.
"""

import argparse
import datetime
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

DATABASE = "contactpoint_bench_workers"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "contactpoint.settings.test")
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
EXTRACTED = datetime.datetime(2026, 10, 1, 6, tzinfo=datetime.UTC)


def setup() -> None:
    import django

    django.setup()


def validate_and_write(job: tuple[list, tuple[str, ...], frozenset[str], int, int, int]) -> int:
    from django.db import transaction

    from contactpoint.feeds.loader import INSERT_COLUMNS, bulk_insert, new_record_rows
    from contactpoint.feeds.pipeline import prepare

    rows, header, accepted, source_id, file_id, key = job
    prepared = prepare((accepted, EXTRACTED.date(), header), rows)
    with transaction.atomic():
        new = [p for p in prepared if not p.quarantine]
        loadable = new_record_rows(new, source_id=source_id, file_id=file_id, asserted_at=EXTRACTED, key=key)
        bulk_insert("feeds_sourcerecord", INSERT_COLUMNS, loadable)
    return len(prepared)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--file", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)
    setup()
    from django.core.management import call_command
    from django.db import connections

    from contactpoint.feeds.formats import open_feed
    from contactpoint.feeds.loader import accepted_columns, load_key_for
    from contactpoint.feeds.models import FeedFile
    from contactpoint.records.models import Source

    call_command("migrate", verbosity=0)
    call_command("sync_sources", verbosity=0)
    source = Source.objects.get(code="gp_registration")
    feed_file = FeedFile.objects.create(
        source=source, name=args.file.name, sha256="bench", format="csv", extracted_at=EXTRACTED
    )
    accepted = accepted_columns(source)
    key = load_key_for(feed_file)
    connections.close_all()
    reader = open_feed(args.file, "csv")
    header = reader.header or ()

    def jobs():
        batch: list = []
        for row in reader.rows():
            batch.append(row)
            if len(batch) == 5000:
                yield batch, header, accepted, source.pk, feed_file.pk, key
                batch = []
        if batch:
            yield batch, header, accepted, source.pk, feed_file.pk, key

    started = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(args.workers, initializer=setup) as pool:
        rows = sum(pool.imap_unordered(validate_and_write, jobs()))
    elapsed = time.perf_counter() - started
    print(f"workers={args.workers}  {rows} rows  {elapsed:.1f} s  {rows / elapsed:.0f} rows/s")
    print(
        f"reproduce: {sys.executable} bench/feed_workers_write.py --file {args.file} --workers {args.workers}"
    )


if __name__ == "__main__":
    main()
