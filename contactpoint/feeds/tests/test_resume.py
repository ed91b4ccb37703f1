"""A load interrupted at any point resumes to exactly the result of an uninterrupted load."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import psycopg
import pytest
from django.db import connection

from contactpoint.feeds import loader
from contactpoint.feeds.loader import FeedLoad, write_batch
from contactpoint.feeds.models import (
    DataQualityWarning,
    FeedBatch,
    FeedFile,
    QuarantinedRow,
    SourceRecord,
    SourceRecordVersion,
)
from contactpoint.feeds.pipeline import prepare
from contactpoint.feeds.services import sources_sync
from contactpoint.feeds.tests.helpers import EXTRACTED, child_row, snapshot, write_csv
from contactpoint.records.models import Source

pytestmark = pytest.mark.django_db


class Crash(Exception):
    pass


def mixed_rows() -> list[dict[str, str]]:
    """Loadable rows, quarantined rows, warnings and a duplicate, spread over several batches."""
    rows = []
    for i in range(14):
        row = child_row(f"M{i:02d}", postcode="BAD" if i % 4 == 0 else "LS6 2AB")
        if i % 5 == 3:
            row["given_name"] = row["family_name"] = ""
        rows.append(row)
    rows.append(child_row("M01", given_name="Dup"))
    rows.append(child_row("M20", case_notes="never stored"))
    return rows


def run(path, *, batch_size=3, workers=0):
    source = Source.objects.get(code="gp_registration")
    return FeedLoad(
        source=source, path=path, extracted_at=EXTRACTED, batch_size=batch_size, workers=workers
    ).run()


def wipe():
    for model in (DataQualityWarning, QuarantinedRow, SourceRecordVersion, SourceRecord, FeedFile):
        model.objects.all().delete()


@pytest.fixture
def feed(tmp_path):
    sources_sync()
    path = write_csv(tmp_path / "mixed.csv", mixed_rows())
    run(path)
    expected = snapshot()
    wipe()
    return path, expected


@pytest.mark.parametrize("crash_after_batches", [0, 1, 2, 4])
def test_a_crash_between_batches_resumes_to_the_identical_result(feed, monkeypatch, crash_after_batches):
    path, expected = feed
    real_write = loader._Batch.write
    calls = {"n": 0}

    def crashing_write(batch):
        if calls["n"] == crash_after_batches:
            real_write(batch)
            raise Crash  # after writing, inside the transaction: the batch must roll back whole
        calls["n"] += 1
        real_write(batch)

    monkeypatch.setattr(loader._Batch, "write", crashing_write)
    with pytest.raises(Crash):
        run(path)
    assert FeedFile.objects.get().rows_done == 3 * crash_after_batches
    monkeypatch.setattr(loader._Batch, "write", real_write)
    result = run(path)
    assert not result.already_loaded
    assert snapshot() == expected


@pytest.mark.django_db(
    transaction=True
)  # workers write over their own connections: nothing may be uncommitted
def test_worker_processes_give_the_same_result_and_on_postgresql_write_their_own_batches(feed, monkeypatch):
    path, expected = feed
    if connection.vendor == "postgresql":

        def parent_must_not_write(*args):
            raise AssertionError("the loading process wrote a batch; its workers should have")

        # Workers are fresh processes and keep the real function; only this process is patched.
        monkeypatch.setattr(loader, "write_batch", parent_must_not_write)
    run(path, workers=2)
    assert snapshot() == expected
    assert FeedBatch.objects.count() == 6  # 16 rows in batches of 3


def test_batches_committed_out_of_order_by_a_killed_run_resume_to_the_identical_result(feed):
    """With several writers, a killed load can leave batches 3 and 5 committed but not 1, 2 or 4."""
    path, expected = feed
    load = FeedLoad(
        source=Source.objects.get(code="gp_registration"), path=path, extracted_at=EXTRACTED, batch_size=3
    )
    job = load.file_job(load.ledger_entry())
    chunks = list(load.chunks([]))
    load.reader.close()
    for chunk in (chunks[2], chunks[4]):
        assert write_batch(
            job, chunk.first_row, chunk.last_row, prepare(job.spec, chunk.rows, chunk.duplicates)
        )
    committed = SourceRecord.objects.count()

    # A second writer of a committed batch (a worker of the killed run, still finishing) writes nothing.
    late = chunks[2]
    assert (
        write_batch(job, late.first_row, late.last_row, prepare(job.spec, late.rows, late.duplicates)) is None
    )
    assert SourceRecord.objects.count() == committed

    result = run(path)
    assert not result.already_loaded
    assert snapshot() == expected


SNAPSHOT_SQL = {
    # The values are sealed (with a random nonce each): their fingerprint stands for them.
    "records": "SELECT source_record_id, gender, has_nhs_number, content_hash, asserted_at, needs_linking "
    "FROM feeds_sourcerecord ORDER BY source_record_id",
    "quarantined": "SELECT row_number, source_record_id, reasons, organisation_codes "
    "FROM feeds_quarantinedrow ORDER BY row_number",
    "warnings": 'SELECT row_number, source_record_id, "column", kind '
    "FROM feeds_dataqualitywarning ORDER BY 1, 3",
    "files": "SELECT sha256, status, rows_done, report FROM feeds_feedfile",
    "batches": "SELECT first_row, last_row, report FROM feeds_feedbatch ORDER BY first_row",
}


def database_url(kind: str, tmp_path, label: str) -> str:
    """A fresh, empty database of the kind the tests run on."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / label}.sqlite3"
    settings = connection.settings_dict
    name = f"{settings['NAME']}_{label}"
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{name}"


def query(url: str, sql: str) -> list:
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30) as db:
            return db.execute(sql).fetchall()
    with psycopg.connect(url) as db:
        return db.execute(sql).fetchall()


def database_snapshot(url: str) -> dict[str, list]:
    return {name: query(url, sql) for name, sql in SNAPSHOT_SQL.items()}


def contactpoint(*args, database_url, check=True):
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "contactpoint.settings.test"}
    return subprocess.run(
        [sys.executable, "-m", "contactpoint.manage", *args],
        env=env,
        check=check,
        capture_output=True,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_load_then_rerun_gives_the_identical_database(tmp_path):
    """A real SIGKILL of the command, on a file large enough to be caught between batches.

    On PostgreSQL the load runs with two workers writing their own batches, so the kill can leave
    batches committed out of order and workers of the killed run still finishing theirs.
    """
    from contactpoint.synthetic.feeds import write_population

    write_population(children=20_000, seed=4, out=tmp_path / "pop", as_of=EXTRACTED.date())
    feed_path = tmp_path / "pop" / "gp_registration.csv"
    workers = "2" if connection.vendor == "postgresql" else "0"
    args = (
        "load_feed",
        "--source",
        "gp_registration",
        "--extracted-at",
        EXTRACTED.isoformat(),
        str(feed_path),
        "--workers",
        workers,
        "-v",
        "0",
    )
    clean, killed = (database_url(connection.vendor, tmp_path, label) for label in ("clean", "killed"))
    for url in (clean, killed):
        contactpoint("migrate", database_url=url)
        contactpoint("sync_sources", database_url=url)
    contactpoint(*args, database_url=clean)

    env = {**os.environ, "DATABASE_URL": killed, "DJANGO_SETTINGS_MODULE": "contactpoint.settings.test"}
    process = subprocess.Popen([sys.executable, "-m", "contactpoint.manage", *args], env=env)
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        done = query(killed, "SELECT count(*) FROM feeds_feedbatch")[0][0]
        if done > 0:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the load finished before it could be killed"
    assert query(killed, "SELECT status FROM feeds_feedfile") == [("loading",)]

    contactpoint(*args, database_url=killed)
    try:
        assert database_snapshot(killed) == database_snapshot(clean)
    finally:
        drop_database(clean)
        drop_database(killed)


def drop_database(url: str) -> None:
    if url.startswith("postgres://"):
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
