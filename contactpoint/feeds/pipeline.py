"""Validated batches in file order, from worker processes when the file is large enough.

Validation is pure Python and CPU-bound; the database writer is mostly waiting on PostgreSQL. On
a two-core machine, validating in worker processes while the main process writes keeps both
cores busy. Order is preserved, so the resume point and the results are the same either way.
"""

import datetime
import hashlib
import json
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NamedTuple

from .validation import VALUE_COLUMNS, RowValidator, Warning
from .workers import setup as worker_setup

# A row as read: its number, its cells (a list in header order, or a dict for keyed formats), and
# whether it had more cells than the header.
RawTuple = tuple[int, list[str] | dict[str, str], bool]
Spec = tuple[frozenset[str], datetime.date, tuple[str, ...] | None]
DATE_OF_BIRTH = VALUE_COLUMNS.index("date_of_birth")
_validators: dict[Spec, RowValidator] = {}


def content_hash(stored: list[Any]) -> str:
    """What the source said, fingerprinted, so an unchanged record costs no write."""
    text = "\x1f".join("" if value is None else str(value) for value in stored)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


class Prepared(NamedTuple):
    """What the writer needs of a validated row. A plain tuple: millions cross from the workers."""

    row_number: int
    source_record_id: str
    stored: list[Any]  # values in VALUE_COLUMNS order, extras JSON, fingerprint; empty if quarantined
    warnings: list[Warning]
    quarantine: list[str]
    kept: dict[str, str]  # a quarantined row's own cells, for the source to correct
    withdrawn: bool

    @property
    def digest(self) -> str:
        return self.stored[-1]


def prepare(spec: Spec, rows: list[RawTuple]) -> list[Prepared]:
    """Validate rows and compute what the writer needs: the values as stored, their fingerprint,
    and for quarantined rows the cells the source may correct."""
    accepted, today, header = spec
    validator = _validators.get(spec)
    if validator is None:
        validator = _validators[spec] = RowValidator(accepted=accepted, today=today)
    prepared = []
    for number, cells, malformed in rows:
        values = cells if isinstance(cells, dict) else dict(zip(header or (), cells, strict=False))
        outcome = validator.validate(number, values, malformed)
        stored: list[Any] = []
        kept: dict[str, str] = {}
        if outcome.quarantine:
            kept = {k: v for k, v in values.items() if k in accepted}
        else:
            born = outcome.values["date_of_birth"]
            stored = [outcome.values[c] for c in VALUE_COLUMNS]
            stored[DATE_OF_BIRTH] = born.isoformat() if born else None
            stored.append(json.dumps(outcome.extras))
            stored.append(content_hash(stored))
        prepared.append(
            Prepared(
                number,
                outcome.source_record_id,
                stored,
                outcome.warnings,
                outcome.quarantine,
                kept,
                outcome.withdrawn,
            )
        )
    return prepared


def validated_batches(chunks: Iterable[list[RawTuple]], spec: Spec, workers: int) -> Iterator[list[Prepared]]:
    if workers <= 0:
        for chunk in chunks:
            yield prepare(spec, chunk)
        return
    # forkserver, not fork: the loader may have threads (progress bars, the database driver), and a
    # fork of a threaded process can deadlock. Workers set Django up once and never open the database.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=worker_setup) as pool:
        pending: deque = deque()
        for chunk in chunks:
            pending.append(pool.submit(prepare, spec, chunk))
            if len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
