"""Validating a batch of raw rows into what the writer needs, in whichever process runs it.

Validation is pure Python and CPU-bound. For large files it runs in worker processes (which on
PostgreSQL also write their batches: loader.py); these functions import no database code paths
beyond the validation rules, and results do not depend on which process or order ran them.
"""

import datetime
import gc
import json
from typing import Any, NamedTuple

from . import normalise as n
from .columnar import BatchValidator, content_hash
from .validation import PARSERS, VALUE_COLUMNS, QuarantineReason, RowValidator, Warning
from .workers import Spec

# A row as read: its number, its cells (a list in header order, or a dict for keyed formats), and
# whether it had more cells than the header.
RawTuple = tuple[int, list[str] | dict[str, str], bool]
DATE_OF_BIRTH = VALUE_COLUMNS.index("date_of_birth")
_validators: dict[Spec, RowValidator] = {}
_batch_validators: dict[Spec, BatchValidator] = {}
_parse_record_id = PARSERS["source_record_id"][0]


class Chunk(NamedTuple):
    """One batch of consecutive raw rows, with the rows whose record id appeared earlier in the file."""

    first_row: int
    last_row: int
    rows: list[RawTuple]
    duplicates: frozenset[int]


def record_id(raw: str) -> str:
    """The record id as validation will read it, so the reader can spot repeats before dispatch."""
    if not raw:
        return ""
    try:
        return _parse_record_id(raw)[0]
    except n.Invalid:
        return ""  # too long: validation leaves it out, and the row is quarantined for it


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


def prepare(spec: Spec, rows: list[RawTuple], duplicates: frozenset[int] = frozenset()) -> list[Prepared]:
    """Validate rows and compute what the writer needs: the values as stored, their fingerprint,
    and for quarantined rows the cells the source may correct.

    A row in `duplicates` repeats an earlier record id of the file: unless it is quarantined for
    another reason already, it is quarantined as a duplicate, keeping its values as validated.
    Validation runs column by column over the batch (columnar.py)."""
    validator = _batch_validators.get(spec)
    if validator is None:
        accepted, today, header = spec
        validator = _batch_validators[spec] = BatchValidator(accepted=accepted, today=today, header=header)
    # A batch allocates tens of thousands of small, acyclic objects; the cyclic collector's passes
    # over them cost about a sixth of validation and free nothing that reference counts do not.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return validator.validate(rows, duplicates, Prepared)
    finally:
        if collecting:
            gc.enable()


def prepare_by_row(
    spec: Spec, rows: list[RawTuple], duplicates: frozenset[int] = frozenset()
) -> list[Prepared]:
    """The same as prepare(), one row at a time with RowValidator: the reference it is tested against."""
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
        elif number in duplicates:
            outcome.quarantine.append(QuarantineReason.DUPLICATE_IN_FILE)
            kept = {c: _iso_or_text(v) for c, v in outcome.values.items()}
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


def _iso_or_text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime.date) else str(value or "")
