"""A load interrupted at any point resumes to exactly the result of an uninterrupted load."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from contactpoint.feeds import loader
from contactpoint.feeds.loader import FeedLoad
from contactpoint.feeds.models import (
    DataQualityWarning,
    FeedFile,
    QuarantinedRow,
    SourceRecord,
    SourceRecordVersion,
)
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


def test_validating_in_worker_processes_gives_the_same_result(feed):
    path, expected = feed
    run(path, workers=2)
    assert snapshot() == expected


SNAPSHOT_SQL = {
    "records": "SELECT source_record_id, given_name, family_name, date_of_birth, postcode, nhs_number, "
    "content_hash, asserted_at, needs_linking FROM feeds_sourcerecord ORDER BY source_record_id",
    "quarantined": 'SELECT row_number, source_record_id, reasons, "values" '
    "FROM feeds_quarantinedrow ORDER BY row_number",
    "warnings": 'SELECT row_number, source_record_id, "column", kind '
    "FROM feeds_dataqualitywarning ORDER BY 1, 3",
    "files": "SELECT sha256, status, rows_done, report FROM feeds_feedfile",
}


def sqlite_snapshot(path) -> dict[str, list]:
    with sqlite3.connect(path) as db:
        return {name: db.execute(sql).fetchall() for name, sql in SNAPSHOT_SQL.items()}


def contactpoint(*args, database, check=True):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_SETTINGS_MODULE": "contactpoint.settings.test",
    }
    return subprocess.run(
        [sys.executable, "-m", "contactpoint.manage", *args],
        env=env,
        check=check,
        capture_output=True,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_load_then_rerun_gives_the_identical_database(tmp_path):
    """A real SIGKILL of the command, on a file large enough to be caught between batches."""
    from contactpoint.synthetic.feeds import write_population

    write_population(children=20_000, seed=4, out=tmp_path / "pop", as_of=EXTRACTED.date())
    feed_path = tmp_path / "pop" / "gp_registration.csv"
    args = (
        "load_feed",
        "--source",
        "gp_registration",
        "--extracted-at",
        EXTRACTED.isoformat(),
        str(feed_path),
        "-v",
        "0",
    )
    clean, killed = tmp_path / "clean.sqlite3", tmp_path / "killed.sqlite3"
    for database in (clean, killed):
        contactpoint("migrate", database=database)
        contactpoint("sync_sources", database=database)
    contactpoint(*args, database=clean)

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{killed}",
        "DJANGO_SETTINGS_MODULE": "contactpoint.settings.test",
        "CONTACTPOINT_FEED_WORKERS": "0",
    }
    process = subprocess.Popen([sys.executable, "-m", "contactpoint.manage", *args], env=env)
    deadline = time.monotonic() + 60
    done = 0
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(killed, timeout=30) as db:
            row = db.execute("SELECT rows_done FROM feeds_feedfile").fetchone()
        done = row[0] if row else 0
        if done > 0:
            os.kill(process.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the load finished before it could be killed"
    assert 0 < done < 19_000

    contactpoint(*args, database=killed)
    assert sqlite_snapshot(killed) == sqlite_snapshot(clean)
