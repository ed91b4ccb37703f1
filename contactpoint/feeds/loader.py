"""Loading one feed file: validate every row, write in batches, resume exactly after a crash.

Crash safety comes from one rule: each batch's rows, its quarantine and warning rows, and the
ledger's resume point and report are committed in the same transaction. A load killed at any
moment leaves whole batches only, and a re-run skips exactly the rows already committed, so it
ends with the same database as a load that was never interrupted.
"""

import datetime
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.records.models import Source

from . import columns, formats
from . import normalise as n
from .models import (
    DataQualityWarning,
    FeedFile,
    FeedFileStatus,
    QuarantinedRow,
    QuarantineStatus,
    SourceRecord,
    SourceRecordVersion,
)
from .pipeline import Prepared, validated_batches
from .validation import VALUE_COLUMNS, QuarantineReason

BATCH_SIZE = 5000
WORKER_THRESHOLD_BYTES = 8 * 1024 * 1024
QUARANTINE_CELL_LIMIT = 1000  # a quarantined row keeps enough of each cell to correct it, not 10 MB
INSERT_COLUMNS = (
    "source_id",
    "source_record_id",
    *VALUE_COLUMNS,
    "extras",
    "content_hash",
    "asserted_at",
    "first_file_id",
    "last_file_id",
    "needs_linking",
)
# A changed record keeps its identity and the file that first sent it.
UPDATE_COLUMNS = tuple(
    c for c in INSERT_COLUMNS if c not in ("source_id", "source_record_id", "first_file_id")
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

    def run(self) -> LoadResult:
        try:
            feed_file = self._ledger_entry()
            if feed_file.status == FeedFileStatus.LOADED:
                return LoadResult(feed_file, already_loaded=True)
            self._load(feed_file)
            return LoadResult(feed_file, already_loaded=False)
        finally:
            self.reader.close()

    def _ledger_entry(self) -> FeedFile:
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

    def _load(self, feed_file: FeedFile) -> None:
        spec = (self.accepted, timezone.localdate(feed_file.extracted_at), self.reader.header)
        context = _LoadContext.for_file(feed_file)
        self.seen: set[str] = set()
        self.refused: set[str] = set(feed_file.report["refused_columns"])
        for outcomes in validated_batches(self._chunks(feed_file), spec, self.workers):
            batch = _Batch(feed_file, context)
            for outcome in outcomes:
                if outcome.source_record_id in self.seen and not outcome.quarantine:
                    outcome.quarantine.append(QuarantineReason.DUPLICATE_IN_FILE)
                    kept = dict(zip(VALUE_COLUMNS, (str(v or "") for v in outcome.stored), strict=False))
                    outcome = outcome._replace(stored=[], kept=kept)
                self.seen.add(outcome.source_record_id)
                batch.add(outcome)
            self._commit(batch)
        self._commit(_Batch(feed_file, context), final=True)

    def _chunks(self, feed_file: FeedFile) -> Iterator[list[formats.RawRow]]:
        """Raw rows in batches, skipping (but remembering) rows a crashed run already committed."""
        header = self.reader.header
        srid_at = header.index("source_record_id") if header else None
        if header:
            self.refused.update(column for column in header if column not in self.accepted)
        chunk: list[formats.RawRow] = []
        for row in self.reader.rows():
            number, cells, _ = row
            if isinstance(cells, dict):
                self.refused.update(column for column in cells if column not in self.accepted)
            if number <= feed_file.rows_done:
                srid = cells.get("source_record_id", "") if isinstance(cells, dict) else _cell(cells, srid_at)
                self.seen.add(n.text(srid, max_length=10**9)[0])
                continue
            chunk.append(row)
            if len(chunk) >= self.batch_size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def _commit(self, batch: "_Batch", final: bool = False) -> None:
        with transaction.atomic():
            batch.write()
            feed_file = batch.feed_file
            feed_file.report = batch.merged_report(sorted(self.refused - {""}))
            feed_file.rows_done = max(feed_file.rows_done, batch.last_row)
            fields = ["report", "rows_done"]
            if final:
                feed_file.status = FeedFileStatus.LOADED
                feed_file.finished_at = timezone.now()
                fields += ["status", "finished_at"]
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
            feed_file.save(update_fields=fields)
        if self.progress and len(batch):
            self.progress(len(batch))


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

    def __init__(self, feed_file: FeedFile, context: _LoadContext):
        self.feed_file = feed_file
        self.context = context
        self.outcomes: list[Prepared] = []
        self.counts: Counter[str] = Counter()
        self.reasons: Counter[str] = Counter()
        self.warning_kinds: Counter[str] = Counter()
        self.last_row = 0

    def __len__(self) -> int:
        return len(self.outcomes)

    def add(self, outcome: Prepared) -> None:
        self.outcomes.append(outcome)
        self.last_row = outcome.row_number

    def merged_report(self, refused: list[str]) -> dict[str, Any]:
        report = dict(self.feed_file.report)
        for key, value in self.counts.items():
            report[key] = report.get(key, 0) + value
        for key, counter in (("quarantine_reasons", self.reasons), ("warnings", self.warning_kinds)):
            merged: Counter[str] = Counter(report.get(key, {}))
            merged.update(counter)
            report[key] = dict(sorted(merged.items()))
        report["loaded"] = sum(report[k] for k in ("new", "updated", "unchanged", "withdrawn", "stale"))
        report["refused_columns"] = refused
        return report

    def write(self) -> None:
        self.counts["rows_read"] += len(self.outcomes)
        loadable = [o for o in self.outcomes if not o.quarantine]
        self._quarantine([o for o in self.outcomes if o.quarantine])
        new, changed, withdrawn = self._classify(loadable)
        self._insert(new)
        self._snapshot([pk for pk, _ in changed] + withdrawn)
        self._update(changed)
        self._withdraw(withdrawn)
        self._warnings(loadable)
        self._resolve_quarantine(loadable)
        self.counts["new"] += len(new)
        self.counts["updated"] += len(changed)
        self.counts["withdrawn"] += len(withdrawn)

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
            elif prior.asserted_at > self.feed_file.extracted_at:
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
        if not (self.context.has_earlier_records and srids):
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
                [self.feed_file.source_id, *params],
            )
            rows = cursor.fetchall()
        return {
            srid: _Held(pk, digest, withdrawn, _aware(asserted))
            for srid, pk, digest, withdrawn, asserted in rows
        }

    def _insert(self, new: list[Prepared]) -> None:
        if not new:
            return
        asserted = connection.ops.adapt_datetimefield_value(self.feed_file.extracted_at)
        source_id, file_id = self.feed_file.source_id, self.feed_file.pk
        rows = ([source_id, o.source_record_id, *o.stored, asserted, file_id, file_id, True] for o in new)
        bulk_insert(SourceRecord._meta.db_table, INSERT_COLUMNS, rows)

    def _snapshot(self, pks: list[int]) -> None:
        """Keep what the source said before, as history, before it is replaced or withdrawn."""
        if not pks:
            return
        old = SourceRecord.objects.filter(pk__in=pks).values(
            "pk", "content_hash", "asserted_at", "last_file_id", "extras", *VALUE_COLUMNS
        )
        SourceRecordVersion.objects.bulk_create(
            SourceRecordVersion(
                record_id=row["pk"],
                values={**{c: _jsonable(row[c]) for c in VALUE_COLUMNS}, "extras": row["extras"]},
                content_hash=row["content_hash"],
                asserted_at=row["asserted_at"],
                file_id=row["last_file_id"],
                superseded_by_file=self.feed_file,
            )
            for row in old
        )

    def _update(self, changed: list[tuple[int, Prepared]]) -> None:
        if not changed:
            return
        assignments = ", ".join(f"{connection.ops.quote_name(c)} = %s" for c in UPDATE_COLUMNS)
        sql = (
            f"UPDATE {connection.ops.quote_name(SourceRecord._meta.db_table)} "
            f"SET {assignments}, withdrawn_at = NULL WHERE id = %s"
        )
        asserted = connection.ops.adapt_datetimefield_value(self.feed_file.extracted_at)
        rows = [[*outcome.stored, asserted, self.feed_file.pk, True, pk] for pk, outcome in changed]
        with connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    def _withdraw(self, pks: list[int]) -> None:
        if pks:
            SourceRecord.objects.filter(pk__in=pks).update(
                withdrawn_at=self.feed_file.extracted_at, last_file=self.feed_file, needs_linking=True
            )

    def _quarantine(self, rows: list[Prepared]) -> None:
        for outcome in rows:
            self.reasons.update(outcome.quarantine)
        self.counts["quarantined"] += len(rows)
        QuarantinedRow.objects.bulk_create(
            QuarantinedRow(
                file=self.feed_file,
                row_number=outcome.row_number,
                source_record_id=outcome.source_record_id,
                values={k: _storable(v) for k, v in outcome.kept.items()},
                reasons=outcome.quarantine,
                warnings=[[w.column, w.kind, w.message] for w in outcome.warnings],
            )
            for outcome in rows
        )

    def _warnings(self, loadable: list[Prepared]) -> None:
        warnings = [
            DataQualityWarning(
                file=self.feed_file,
                row_number=o.row_number,
                source_record_id=o.source_record_id,
                column=w.column[:64],
                kind=w.kind[:32],
                message=w.message[:300],
            )
            for o in loadable
            for w in o.warnings
        ]
        self.warning_kinds.update(w.kind for w in warnings)
        DataQualityWarning.objects.bulk_create(warnings, batch_size=2000)

    def _resolve_quarantine(self, loadable: list[Prepared]) -> None:
        """A source that re-sends a quarantined record, corrected, closes the quarantine entry."""
        corrected = [
            o.source_record_id for o in loadable if o.source_record_id in self.context.open_quarantine
        ]
        if corrected:
            QuarantinedRow.objects.filter(
                file__source_id=self.feed_file.source_id,
                status=QuarantineStatus.OPEN,
                source_record_id__in=corrected,
            ).exclude(file=self.feed_file).update(
                status=QuarantineStatus.RESOLVED, resolved_by_file=self.feed_file
            )


def _aware(value: datetime.datetime | str) -> datetime.datetime:
    """Raw SQL gives SQLite's datetimes as naive UTC text; make them comparable."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value if timezone.is_aware(value) else value.replace(tzinfo=datetime.UTC)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def _storable(value: str) -> str:
    """Quarantined cells are kept for correction: clean enough for any database, and bounded."""
    cleaned, _ = n.repair(value[: QUARANTINE_CELL_LIMIT * 4])
    return cleaned[:QUARANTINE_CELL_LIMIT]


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
