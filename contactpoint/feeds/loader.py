"""Loading one feed file: validate every row, write in batches, resume exactly after a crash.

Crash safety comes from one rule: each batch's rows, its quarantine and warning rows, and its
ledger row (FeedBatch: the rows it covered and its report) are committed in the same transaction.
A load killed at any moment leaves whole batches only, and a re-run skips exactly the rows of the
committed batches, so it ends with the same database as a load that was never interrupted.

On PostgreSQL, large files are validated *and written* by worker processes, each over its own
connection, so no validated row travels back to one writing process (docs/adr/0002).
"""

import datetime
import hashlib
import json
import multiprocessing
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone

from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records import sealed as records_sealed
from contactpoint.records.models import Source
from contactpoint.retention import crypto
from contactpoint.retention.tombstones import destroyed_on, tombstones_exist

from . import columns, formats, sealed
from . import normalise as n
from . import workers as worker_state
from .models import (
    DataQualityWarning,
    FeedBatch,
    FeedFile,
    FeedFileStatus,
    LoadKey,
    QuarantinedRow,
    QuarantineStatus,
    SourceRecord,
    SourceRecordVersion,
    organisation_codes,
)
from .pipeline import Chunk, Prepared, prepare, record_id
from .validation import VALUE_COLUMNS, destroyed_reason, reason_code
from .workers import FileJob
from .workers import setup as worker_setup

BATCH_SIZE = 5000
WORKER_THRESHOLD_BYTES = 8 * 1024 * 1024
NHS_NUMBER = VALUE_COLUMNS.index("nhs_number")
QUARANTINE_CELL_LIMIT = 1000  # a quarantined row keeps enough of each cell to correct it, not 10 MB
# The values a row keeps clear, by their place in a prepared row's `stored` (VALUE_COLUMNS, then
# the extras' JSON text, then the fingerprint); the others are sealed (SourceRecord.SEALED).
CLEAR_VALUES = ("gender", "retention_consent")
_CLEAR_AT = [VALUE_COLUMNS.index(c) for c in CLEAR_VALUES]
_SEALED_AT = [VALUE_COLUMNS.index(c) for c in SourceRecord.SEALED if c != "extras"]
assert SourceRecord.SEALED[-1] == "extras" and len(_SEALED_AT) == len(SourceRecord.SEALED) - 1
INSERT_COLUMNS = (
    "id",
    "source_id",
    "source_record_id",
    *CLEAR_VALUES,
    "has_nhs_number",
    "organisation_codes",
    "content_hash",
    "sealed_values",
    "load_key_id",
    "asserted_at",
    "first_file_id",
    "last_file_id",
    "needs_linking",
)
# A changed record keeps its identity and the file that first sent it.
UPDATE_COLUMNS = tuple(
    c for c in INSERT_COLUMNS if c not in ("id", "source_id", "source_record_id", "first_file_id")
)


def _default_workers(path: Path) -> int:
    """Worker processes pay for themselves only on large files."""
    if path.stat().st_size < WORKER_THRESHOLD_BYTES:
        return 0
    return settings.CONTACTPOINT_FEED_WORKERS


@dataclass
class LoadResult:
    feed_file: FeedFile
    already_loaded: bool

    @property
    def report(self) -> dict[str, Any]:
        return self.feed_file.report


def accepted_columns(source: Source) -> frozenset[str]:
    return frozenset(columns.CANONICAL + columns.CONTROL + tuple(source.allowed_columns))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def empty_report() -> dict[str, Any]:
    return {
        "rows_read": 0,
        "loaded": 0,
        "new": 0,
        "updated": 0,
        "unchanged": 0,
        "withdrawn": 0,
        "stale": 0,
        "quarantined": 0,
        "destroyed": 0,  # of those quarantined: rows describing a child destroyed under retention
        "quarantine_reasons": {},
        "warnings": {},
        "refused_columns": [],
    }


class FeedLoad:
    """One run over one file. Construct, then call run()."""

    def __init__(
        self,
        *,
        source: Source,
        path: Path,
        format_name: str | None = None,
        extracted_at: datetime.datetime | None = None,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
        workers: int | None = None,
    ):
        self.source = source
        self.path = path
        self.format_name = formats.format_for(path, format_name)
        self.reader = formats.open_feed(path, self.format_name)  # raises UnreadableFile early
        self.extracted_at = extracted_at
        self.batch_size = batch_size
        self.progress = progress
        self.accepted = accepted_columns(source)
        self.workers = workers if workers is not None else _default_workers(path)
        self.refused: set[str] = set()  # filled while the file is read

    def run(self) -> LoadResult:
        try:
            feed_file = self.ledger_entry()
            if feed_file.status == FeedFileStatus.LOADED:
                return LoadResult(feed_file, already_loaded=True)
            self._load(feed_file)
            return LoadResult(feed_file, already_loaded=False)
        finally:
            self.reader.close()

    def ledger_entry(self) -> FeedFile:
        feed_file, _ = FeedFile.objects.get_or_create(
            source=self.source,
            sha256=file_sha256(self.path),
            defaults={
                "name": self.path.name[:255],
                "format": self.format_name,
                "extracted_at": self.extracted_at or timezone.now(),
                "report": empty_report(),
            },
        )
        return feed_file

    def file_job(self, feed_file: FeedFile) -> FileJob:
        context = _LoadContext.for_file(feed_file)
        return FileJob(
            load_key_id=load_key_for(feed_file),
            spec=(self.accepted, timezone.localdate(feed_file.extracted_at), self.reader.header),
            feed_file_id=feed_file.pk,
            source_id=feed_file.source_id,
            extracted_at=feed_file.extracted_at,
            has_earlier_records=context.has_earlier_records,
            open_quarantine=context.open_quarantine,
            workers_write=self._workers_can_write(),
            tombstones=tombstones_exist(),
        )

    def _load(self, feed_file: FeedFile) -> None:
        job = self.file_job(feed_file)
        committed = list(
            FeedBatch.objects.filter(file=feed_file)
            .order_by("first_row")
            .values_list("first_row", "last_row", "report")
        )
        report = merged_report([r for _, _, r in committed], [])
        for rows, batch_report in self._results(self.chunks([(f, last) for f, last, _ in committed]), job):
            if batch_report is not None:  # None: a batch an earlier, killed run had already committed
                report = merged_report([report, batch_report], sorted(self.refused - {""}))
                FeedFile.objects.filter(pk=feed_file.pk).update(rows_done=report["rows_read"], report=report)
            if self.progress and rows:
                self.progress(rows)
        self._finish(feed_file)

    def _workers_can_write(self) -> bool:
        """Workers write their own batches on PostgreSQL, over their own connections.

        Not on SQLite (one writer at a time) and not inside a caller's transaction: a worker's
        connection could not see the uncommitted ledger row its batches refer to.
        """
        return self.workers > 0 and connection.vendor == "postgresql" and not connection.in_atomic_block

    def chunks(self, committed: list[tuple[int, int]]) -> Iterator[Chunk]:
        """Raw rows in batches of consecutive rows, skipping the batches a killed run committed.

        Every row's record id is read here, in file order, so a repeat of an earlier row is known
        before any process validates it: duplicates come out the same whichever batches were
        already committed and in whatever order the others commit.
        """
        header = self.reader.header
        srid_at = len(header) - 1 - header[::-1].index("source_record_id") if header else -1
        if header:
            self.refused.update(column for column in header if column not in self.accepted)
        done = iter(committed)
        skip = next(done, None)
        seen: set[str] = set()
        rows: list[formats.RawRow] = []
        duplicates: set[int] = set()
        for row in self.reader.rows():
            number, cells, _ = row
            if isinstance(cells, dict):
                self.refused.update(column for column in cells if column not in self.accepted)
                srid = record_id(cells.get("source_record_id", ""))
            else:
                srid = record_id(cells[srid_at] if 0 <= srid_at < len(cells) else "")
            repeated = srid in seen
            seen.add(srid)
            while skip is not None and skip[1] < number:
                skip = next(done, None)
            if skip is not None and skip[0] <= number:
                if rows:  # a batch holds consecutive rows only, so its range is exact
                    yield Chunk(rows[0][0], rows[-1][0], rows, frozenset(duplicates))
                    rows, duplicates = [], set()
                continue
            rows.append(row)
            if repeated:
                duplicates.add(number)
            if len(rows) >= self.batch_size:
                yield Chunk(rows[0][0], rows[-1][0], rows, frozenset(duplicates))
                rows, duplicates = [], set()
        if rows:
            yield Chunk(rows[0][0], rows[-1][0], rows, frozenset(duplicates))

    def _results(self, chunks: Iterable[Chunk], job: FileJob) -> Iterator[tuple[int, dict[str, Any] | None]]:
        """Each batch's row count and report, in file order, as the batches commit."""
        if self.workers <= 0:
            for chunk in chunks:
                prepared = prepare(job.spec, chunk.rows, chunk.duplicates)
                yield len(chunk.rows), write_batch(job, chunk.first_row, chunk.last_row, prepared)
            return
        databases = {alias: dict(connections[alias].settings_dict) for alias in connections}
        # forkserver, not fork: the loader may have threads (progress bars, the database driver),
        # and a fork of a threaded process can deadlock.
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=worker_setup,
            initargs=(databases if job.workers_write else None, job),
        )
        pending: deque[tuple[Chunk, Future]] = deque()

        def settle() -> tuple[int, dict[str, Any] | None]:
            chunk, future = pending.popleft()
            if job.workers_write:
                return len(chunk.rows), future.result()
            return len(chunk.rows), write_batch(job, chunk.first_row, chunk.last_row, future.result())

        try:
            for chunk in chunks:
                pending.append((chunk._replace(rows=[]), pool.submit(load_batch, chunk)))
                if len(pending) > 2 * self.workers:
                    yield settle()
            while pending:
                yield settle()
        finally:
            # After a failure, batches not yet started are dropped, not written.
            pool.shutdown(wait=True, cancel_futures=True)

    def _finish(self, feed_file: FeedFile) -> None:
        """The file's report is the sum of its batches' reports, whichever run committed them."""
        with transaction.atomic():
            batches = FeedBatch.objects.filter(file=feed_file).order_by("first_row")
            feed_file.report = merged_report(
                list(batches.values_list("report", flat=True)), sorted(self.refused - {""})
            )
            feed_file.rows_done = feed_file.report["rows_read"]
            feed_file.status = FeedFileStatus.LOADED
            feed_file.finished_at = timezone.now()
            audit_record(
                event_type=EventType.FEED_LOAD,
                username="feed loader",
                details={
                    "source": self.source.code,
                    "file": feed_file.name,
                    "sha256": feed_file.sha256,
                    **{k: v for k, v in feed_file.report.items() if isinstance(v, int)},
                },
            )
            feed_file.save(update_fields=["report", "rows_done", "status", "finished_at"])


def merged_report(reports: Iterable[dict[str, Any]], refused: list[str]) -> dict[str, Any]:
    """Batch reports added up into a file's report."""
    total = empty_report()
    reasons: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for report in reports:
        for key, value in report.items():
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
        reasons.update(report.get("quarantine_reasons", {}))
        kinds.update(report.get("warnings", {}))
    total["quarantine_reasons"] = dict(sorted(reasons.items()))
    total["warnings"] = dict(sorted(kinds.items()))
    total["loaded"] = sum(total[k] for k in ("new", "updated", "unchanged", "withdrawn", "stale"))
    total["refused_columns"] = refused
    return total


def load_batch(chunk: Chunk) -> list[Prepared] | dict[str, Any] | None:
    """A worker's task: validate one batch, and write it too when workers write."""
    job = worker_state.job
    assert job is not None, "the worker was started without its file"
    prepared = prepare(job.spec, chunk.rows, chunk.duplicates)
    if not job.workers_write:
        return prepared
    return write_batch(job, chunk.first_row, chunk.last_row, prepared)


def write_batch(
    job: FileJob, first_row: int, last_row: int, prepared: list[Prepared]
) -> dict[str, Any] | None:
    """Commit one batch's rows with its ledger row, in one transaction; return its report.

    The ledger row is claimed first: if another process already committed this batch (a worker
    of a killed run can finish the batch it held after its parent died), the claim waits for it
    and then finds the row, and this batch writes nothing. Returns None then.
    """
    with transaction.atomic():
        claim = _claim(job.feed_file_id, first_row, last_row)
        if claim is None:
            return None
        batch = _Batch(job, prepared)
        batch.write()
        report = batch.report()
        FeedBatch.objects.filter(pk=claim).update(report=report)
    return report


def _claim(file_id: int, first_row: int, last_row: int) -> int | None:
    table = connection.ops.quote_name(FeedBatch._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (file_id, first_row, last_row, report) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            [file_id, first_row, last_row, "{}"],
        )
        row = cursor.fetchone()
    return row[0] if row else None


class _Held(NamedTuple):
    """What the index already holds of a record the file sends again."""

    pk: int
    digest: str
    withdrawn_at: Any
    asserted_at: datetime.datetime


@dataclass
class _LoadContext:
    """What this source said before this file, looked up once rather than per batch.

    A first load (the common case at national scale) has nothing to compare against, so its
    batches skip the look-up entirely; rows repeated within the file are caught as duplicates.
    """

    has_earlier_records: bool
    open_quarantine: frozenset[str]

    @classmethod
    def for_file(cls, feed_file: FeedFile) -> "_LoadContext":
        earlier = SourceRecord.objects.filter(source_id=feed_file.source_id).exclude(first_file=feed_file)
        quarantined = QuarantinedRow.objects.filter(
            file__source_id=feed_file.source_id, status=QuarantineStatus.OPEN
        ).exclude(file=feed_file)
        return cls(earlier.exists(), frozenset(quarantined.values_list("source_record_id", flat=True)))


class _Batch:
    """The rows of one transaction, classified against what the source said before."""

    def __init__(self, job: FileJob, outcomes: list[Prepared]):
        self.job = job
        self.outcomes = outcomes
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.warning_kinds: Counter[str] = Counter()

    def report(self) -> dict[str, Any]:
        return {
            **self.counts,
            "quarantine_reasons": dict(sorted(self.reasons.items())),
            "warnings": dict(sorted(self.warning_kinds.items())),
        }

    def write(self) -> None:
        self.counts["rows_read"] += len(self.outcomes)
        loadable = [o for o in self.outcomes if not o.quarantine]
        new, changed, withdrawn = self._classify(loadable)
        refused = self._refuse_destroyed([*new, *(o for _, o in changed)])
        if refused:
            new = [o for o in new if o.row_number not in refused]
            changed = [(pk, o) for pk, o in changed if o.row_number not in refused]
            loadable = [o for o in loadable if o.row_number not in refused]
        self._quarantine([o for o in self.outcomes if o.quarantine])
        self._insert(new)
        self._snapshot([pk for pk, _ in changed] + withdrawn)
        self._update(changed)
        self._withdraw(withdrawn)
        self._warnings(loadable)
        self._resolve_quarantine(loadable)
        self.counts["new"] += len(new)
        self.counts["updated"] += len(changed)
        self.counts["withdrawn"] += len(withdrawn)

    def _refuse_destroyed(self, writes: list[Prepared]) -> set[int]:
        """Of the rows about to be written (new or changed records: an unchanged one cannot belong
        to a destroyed child, whose records are gone), those describing a destroyed child by its
        source record or its NHS number are quarantined instead, so that destruction stays final.
        Their cells are not kept: the index must not hold the child's details again, only the
        fact that the source still sends them. Returns their row numbers."""
        if not self.job.tombstones or not writes:
            return set()
        source_code = Source.objects.values_list("code", flat=True).get(pk=self.job.source_id)
        destroyed = destroyed_on(
            source_code=source_code, rows=[(o.source_record_id, o.stored[NHS_NUMBER]) for o in writes]
        )
        refused = {
            o.row_number: o._replace(
                stored=[], kept={}, warnings=[], quarantine=[destroyed_reason(destroyed[o.source_record_id])]
            )
            for o in writes
            if o.source_record_id in destroyed
        }
        self.counts["destroyed"] += len(refused)
        if refused:
            self.outcomes = [refused.get(o.row_number, o) for o in self.outcomes]
        return set(refused)

    def _classify(
        self, loadable: list[Prepared]
    ) -> tuple[list[Prepared], list[tuple[int, Prepared]], list[int]]:
        """Sort rows into new records, changed records and withdrawals; count the rest."""
        held = self._held([o.source_record_id for o in loadable])
        new: list[Prepared] = []
        changed: list[tuple[int, Prepared]] = []
        withdrawn: list[int] = []
        for outcome in loadable:
            prior = held.get(outcome.source_record_id)
            if prior is None:
                if outcome.withdrawn:
                    self.counts["unchanged"] += 1  # withdrawing what was never sent changes nothing
                else:
                    new.append(outcome)
            elif prior.asserted_at > self.job.extracted_at:
                self.counts["stale"] += 1  # delivered out of order: what is held is newer
            elif outcome.withdrawn:
                if prior.withdrawn_at is None:
                    withdrawn.append(prior.pk)
                else:
                    self.counts["unchanged"] += 1
            elif prior.digest != outcome.digest or prior.withdrawn_at is not None:
                changed.append((prior.pk, outcome))
            else:
                self.counts["unchanged"] += 1
        return new, changed, withdrawn

    def _held(self, srids: list[str]) -> dict[str, "_Held"]:
        if not (self.job.has_earlier_records and srids):
            return {}
        table = connection.ops.quote_name(SourceRecord._meta.db_table)
        params: list[Any]
        if connection.vendor == "postgresql":
            condition, params = "source_record_id = ANY(%s)", [srids]
        else:
            condition, params = f"source_record_id IN ({', '.join(['%s'] * len(srids))})", srids
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT source_record_id, id, content_hash, withdrawn_at, asserted_at FROM {table} "
                f"WHERE source_id = %s AND {condition}",
                [self.job.source_id, *params],
            )
            rows = cursor.fetchall()
        return {
            srid: _Held(pk, digest, withdrawn, _aware(asserted))
            for srid, pk, digest, withdrawn, asserted in rows
        }

    def _insert(self, new: list[Prepared]) -> None:
        if not new:
            return
        rows = new_record_rows(
            new,
            source_id=self.job.source_id,
            file_id=self.job.feed_file_id,
            key=self.job.load_key_id,
            asserted_at=self.job.extracted_at,
        )
        bulk_insert(SourceRecord._meta.db_table, INSERT_COLUMNS, rows)

    def _snapshot(self, pks: list[int]) -> None:
        """Keep what the source said before, as history, before it is replaced or withdrawn."""
        if not pks:
            return
        old = records_sealed.values_opened(
            SourceRecord.objects.filter(pk__in=pks),
            "content_hash",
            "asserted_at",
            "last_file_id",
            *CLEAR_VALUES,
        )
        aead, key = load_cipher(self.job.load_key_id), self.job.load_key_id
        SourceRecordVersion.objects.bulk_create(
            SourceRecordVersion(
                pk=pk,
                record_id=row["pk"],
                sealed_values=records_sealed.seal(
                    aead,
                    SourceRecordVersion,
                    pk,
                    {"values": {**{c: _jsonable(row[c]) for c in VALUE_COLUMNS}, "extras": row["extras"]}},
                ),
                load_key_id=key,
                content_hash=row["content_hash"],
                asserted_at=row["asserted_at"],
                file_id=row["last_file_id"],
                superseded_by_file_id=self.job.feed_file_id,
            )
            for pk, row in zip(records_sealed.ids_reserve(SourceRecordVersion, len(old)), old, strict=True)
        )

    def _update(self, changed: list[tuple[int, Prepared]]) -> None:
        if not changed:
            return
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in UPDATE_COLUMNS)
        sql = (
            f"UPDATE {connection.ops.quote_name(SourceRecord._meta.db_table)} "
            f"SET {assignments}, sealed_child_id = NULL, withdrawn_at = NULL WHERE id = %s"
        )
        asserted = connection.ops.adapt_datetimefield_value(self.job.extracted_at)
        key, aead = self.job.load_key_id, load_cipher(self.job.load_key_id)
        file_id = self.job.feed_file_id
        rows = [
            [*_clear(o), sealed_row(aead, pk, o.stored), key, asserted, file_id, True, pk]
            for pk, o in changed
        ]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def _withdraw(self, pks: list[int]) -> None:
        if pks:
            SourceRecord.objects.filter(pk__in=pks).update(
                withdrawn_at=self.job.extracted_at, last_file_id=self.job.feed_file_id, needs_linking=True
            )

    def _quarantine(self, rows: list[Prepared]) -> None:
        for outcome in rows:
            self.reasons.update(reason_code(reason) for reason in outcome.quarantine)
        self.counts["quarantined"] += len(rows)
        fields = []
        for outcome in rows:
            values = {k: _storable(v) for k, v in outcome.kept.items()}
            fields.append(
                {
                    "file_id": self.job.feed_file_id,
                    "row_number": outcome.row_number,
                    "source_record_id": outcome.source_record_id,
                    "organisation_codes": json.dumps(
                        {c: values[c] for c in columns.ORGANISATION if values.get(c)}
                    ),
                    "reasons": json.dumps(outcome.quarantine),
                    "status": QuarantineStatus.OPEN.value,
                    "values": values,
                    "warnings": [[w.column, w.kind, w.message] for w in outcome.warnings],
                }
            )
        _sealed_insert(QuarantinedRow, fields)

    def _warnings(self, loadable: list[Prepared]) -> None:
        fields: list[dict[str, Any]] = [
            {
                "file_id": self.job.feed_file_id,
                "row_number": o.row_number,
                "source_record_id": o.source_record_id,
                "column": w.column[:64],
                "kind": w.kind[:32],
                "message": w.message[:300],
            }
            for o in loadable
            for w in o.warnings
        ]
        self.warning_kinds.update(row["kind"] for row in fields)
        _sealed_insert(DataQualityWarning, fields)

    def _resolve_quarantine(self, loadable: list[Prepared]) -> None:
        """A source that re-sends a quarantined record, corrected, closes the quarantine entry."""
        corrected = [o.source_record_id for o in loadable if o.source_record_id in self.job.open_quarantine]
        if corrected:
            QuarantinedRow.objects.filter(
                file__source_id=self.job.source_id,
                status=QuarantineStatus.OPEN,
                source_record_id__in=corrected,
            ).exclude(file_id=self.job.feed_file_id).update(
                status=QuarantineStatus.RESOLVED, resolved_by_file_id=self.job.feed_file_id
            )


def load_key_for(feed_file: FeedFile) -> int:
    """The file's load key, created on its first load and kept by a resumed one."""
    existing = LoadKey.objects.filter(file=feed_file).values_list("pk", flat=True).first()
    return existing if existing is not None else load_key_create(file=feed_file)[0]


def load_key_create(*, file: FeedFile | None = None) -> tuple[int, AESGCM]:
    """A new load key (wrapped by the data KEK) and its cipher."""
    key_id, plain = uuid.uuid4().hex, crypto.new_key()
    wrapped, kek_id = crypto.key_wrap(plain, key_id=key_id)
    row = LoadKey.objects.create(file=file, key_id=key_id, wrapped=wrapped, kek_id=kek_id)
    _load_ciphers[row.pk] = crypto.cipher(plain)
    return row.pk, _load_ciphers[row.pk]


_load_ciphers: dict[int, AESGCM] = {}  # per process: each writing process unwraps a file's key once


def load_cipher(pk: int) -> AESGCM:
    found = _load_ciphers.get(pk)
    if found is None:
        row = LoadKey.objects.get(pk=pk)
        plain = crypto.key_unwrap(bytes(row.wrapped), key_id=row.key_id, kek_id=row.kek_id)
        found = _load_ciphers[pk] = crypto.cipher(plain)
    return found


def sealed_row(aead: AESGCM, pk: int, stored: list[Any]) -> bytes:
    """A prepared row's sealed values in SourceRecord's layout (records.sealed: a JSON list in the
    order of SEALED), built from its stored values without parsing the extras' JSON again."""
    listed = json.dumps([stored[i] for i in _SEALED_AT], separators=(",", ":"))
    return records_sealed.seal_json(aead, SourceRecord, pk, f"{listed[:-1]},{stored[-2]}]")


def new_record_rows(
    new: list[Prepared], *, source_id: int, file_id: int, key: int, asserted_at: datetime.datetime
) -> list[list[Any]]:
    """New records' rows in INSERT_COLUMNS order, sealed under the load key. Their ids are reserved
    first: each is bound into its row's blob. Built whole before the COPY starts, which holds the
    connection the key and the ids are read over."""
    asserted = connection.ops.adapt_datetimefield_value(asserted_at)
    aead = load_cipher(key)
    after = (key, asserted, file_id, file_id, True)  # key, asserted, first and last file, to link
    return [
        [pk, source_id, o.source_record_id, *_clear(o), sealed_row(aead, pk, o.stored), *after]
        for pk, o in zip(records_sealed.ids_reserve(SourceRecord, len(new)), new, strict=True)
    ]


def _clear(o: Prepared) -> list[Any]:
    """A prepared row's clear values in INSERT_COLUMNS order: CLEAR_VALUES, what is derived from
    sealed ones (has_nhs_number, organisation_codes), and the fingerprint."""
    return [*(o.stored[i] for i in _CLEAR_AT), bool(o.stored[NHS_NUMBER]), _codes(o.stored), o.digest]


def _codes(stored: list[Any]) -> str:
    extras = stored[-2]
    return "" if extras == "{}" else organisation_codes(json.loads(extras))


def _aware(value: datetime.datetime | str) -> datetime.datetime:
    """Raw SQL gives SQLite's datetimes as naive UTC text; make them comparable."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.UTC)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def _storable(value: str) -> str:
    """Quarantined cells are kept for correction: clean enough for any database, and bounded."""
    cleaned, _ = n.repair(value[: QUARANTINE_CELL_LIMIT * 4])
    return cleaned[:QUARANTINE_CELL_LIMIT]


def _sealed_insert(model: type[QuarantinedRow | DataQualityWarning], rows: list[dict[str, Any]]) -> None:
    """Rows (values by column) sealed, each under its own key, and inserted in bulk."""
    if rows:
        sealed.rows_seal(model, rows)
        names = list(rows[0])
        bulk_insert(model._meta.db_table, names, ([row[name] for name in names] for row in rows))


def bulk_insert(table: str, column_names: Iterable[str], rows: Iterable[list[Any]]) -> None:
    """COPY on PostgreSQL (the fastest path it has); executemany elsewhere."""
    names = list(column_names)
    quoted = ", ".join(connection.ops.quote_name(c) for c in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(names))
            cursor.executemany(
                f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({placeholders})",
                list(rows),
            )
