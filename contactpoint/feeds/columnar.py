"""Validating a whole batch column by column: the same rules as RowValidator, at a fraction of the cost.

A national load validates tens of millions of cells, and per cell the interpreter's overhead (a
dict per row, a look-up and a branch per cell) cost more than the checks. Here each column of a
batch is checked at once: when every value of a column is plain, printable ASCII, already
collapsed, within its length limit (and, for names, made of name characters only), the column is
accepted with a handful of C-level string operations and no per-value Python at all. A column
that fails that check is cleaned value by value by exactly the code path RowValidator takes
(`clean_cell`), with parsed values of columns that repeat (dates, codes, postcodes) remembered.

Rows are then assembled in one loop: the quarantine rules, extras and stored values, reading
the cleaned columns by position. RowValidator stays the reference: tests hold this module's
results to be identical to it on ordinary and hostile input.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from hashlib import blake2b
from itertools import repeat
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from operator import itemgetter
from typing import Any

from . import normalise as n
from .validation import (
    ADULT_AGE,
    CONSENT_AGE_LIMIT,
    GROUPS,
    PARSERS,
    VALUE_COLUMNS,
    QuarantineReason,
    RowValidator,
    Warning,
    age_on,
    extras_of,
)

RawRows = Sequence[tuple[int, Any, bool]]
# A value that needs no cleaning: printable ASCII already collapsed (single inner spaces, none at
# the ends); a name also starts with a letter and holds only name characters (n.ASCII_NAME).
_PLAIN = r"[!-~]+(?: [!-~]+)*"
_NAME = r"[A-Za-z][A-Za-z.'\-]*(?: [A-Za-z.'\-]+)*"
_CLEAN = {False: re.compile(_PLAIN), True: re.compile(_NAME)}
# The same over a whole column joined by NUL (empty values allowed).
_CLEAN_COLUMN = {
    names: re.compile(f"(?:{v})?(?:\x00(?:{v})?)*") for names, v in ((False, _PLAIN), (True, _NAME))
}
# Parsers whose results are worth remembering: their values repeat across a file.
_REMEMBERED = frozenset(
    {"date_of_birth", "gender", "postcode", "retention_consent", "record_status"}
    | {c for c, (parse, _) in PARSERS.items() if parse in (n.date, n.boolean, n.gender)}
    | {"school_urn", "gp_practice_code", "service_type", "organisation_code", "sensitive_basis"}
    | {"school_start_date", "gp_registration_date", "involvement_start_date", "involvement_end_date"}
)
_MEMO_LIMIT = 200_000


def latest_birth_date(today: datetime.date, age: int) -> datetime.date:
    """The last date of birth that makes a person `age` or older on `today` (age_on's rule)."""
    day = min(today.day, 28) if today.month == 2 else today.day
    candidate = datetime.date(today.year - age, today.month, day)
    while age_on(candidate + datetime.timedelta(days=1), today) >= age:
        candidate += datetime.timedelta(days=1)
    while age_on(candidate, today) < age:
        candidate -= datetime.timedelta(days=1)
    return candidate


class BatchValidator:
    """Validates batches of one file's rows; the results equal RowValidator's, row for row."""

    def __init__(self, *, accepted: frozenset[str], today: datetime.date, header: tuple[str, ...] | None):
        self.rows = RowValidator(accepted=accepted, today=today)
        self.today = today
        self.last_25 = latest_birth_date(today, CONSENT_AGE_LIMIT)
        self.last_18 = latest_birth_date(today, ADULT_AGE)
        self.accepted = accepted
        self.header = header
        self.width = len(header) if header else 0
        # dict(zip(header, cells)) keeps the last of repeated column names: so does this.
        self.index = {column: i for i, column in enumerate(header or ())}
        self.memos: dict[str, dict[str, Any]] = {c: {} for c, *_ in self.rows.plan if c in _REMEMBERED}
        self.group_columns = sorted(set().union(*(GROUPS[g] for g in self.rows.groups)))

    def columns(self, rows: RawRows) -> dict[str, list[str]]:
        """The batch's raw cells, one list per accepted column ("" where a row has none)."""
        if self.header is None:  # keyed rows (JSON Lines)
            return {c: [cells.get(c) or "" for _, cells, _ in rows] for c, *_ in self.rows.plan}
        width = self.width
        padded = [
            cells if len(cells) >= width else [*cells, *([""] * (width - len(cells)))] for _, cells, _ in rows
        ]
        empty = [""] * len(rows)
        return {
            c: list(map(itemgetter(self.index[c]), padded)) if c in self.index else empty
            for c, *_ in self.rows.plan
        }

    def clean(self, rows: RawRows) -> tuple[dict[str, list[Any]], list[list[Warning]]]:
        """Every accepted column cleaned, and each row's warnings in RowValidator's order."""
        raw = self.columns(rows)
        count = len(rows)
        cleaned: dict[str, list[Any]] = {}
        warnings: list[list[Warning]] = [[] for _ in rows]
        for column, parse, plain_limit, name_limit in self.rows.plan:
            values = raw[column]
            default = PARSERS[column][1]
            if not any(values):
                cleaned[column] = [default] * count
                continue
            if _plain_column(values, plain_limit or name_limit, bool(name_limit)):
                cleaned[column] = values
                continue
            # Each distinct text is cleaned once: remembered across batches for columns whose
            # values repeat, within the batch for the rest. A result is (value, warnings).
            memo = self.memos.get(column)
            if memo is None or len(memo) > _MEMO_LIMIT:
                memo = {}
                if column in self.memos:
                    self.memos[column] = memo
            memo[""] = (default, ())
            results: list[Any] = list(map(memo.get, values))
            if None in results:
                limit = plain_limit or name_limit
                clean = _CLEAN[bool(name_limit)].fullmatch
                for i, result in enumerate(results):
                    if result is None:
                        text = values[i]
                        if limit and len(text) <= limit and clean(text):
                            result = (text, ())
                        else:
                            value, found = clean_cell(column, parse, plain_limit, name_limit, text)
                            result = (default if value is _LEFT_OUT else value, found)
                        results[i] = memo[text] = result
            cleaned[column] = list(map(_first, results))
            if any(map(_second, results)):
                for i, (_, found) in enumerate(results):
                    if found:
                        warnings[i].extend(found)
        for column, default in self.rows.defaults.items():
            if column not in cleaned:
                cleaned[column] = [default] * count
        return cleaned, warnings

    def validate(self, rows: RawRows, duplicates: frozenset[int], prepared: Callable[..., Any]) -> list[Any]:
        """Each row's outcome, as `prepared(number, srid, stored, warnings, quarantine, kept, withdrawn)`.

        The ordinary row (loaded, no repeat) is built from whole columns; the few others, found
        column by column, are then rebuilt one by one.
        """
        cells, warnings = self.clean(rows)
        count = len(rows)
        srids, given, family = cells["source_record_id"], cells["given_name"], cells["family_name"]
        born_on, consent, status = cells["date_of_birth"], cells["retention_consent"], cells["record_status"]
        groups = self.rows.groups
        if groups - {"school", "gp"}:
            group_columns = [(c, cells[c]) for c in self.group_columns]
            extras = [
                json.dumps(extras_of({c: values[i] for c, values in group_columns}, groups, warnings[i]))
                for i in range(count)
            ]
        else:
            extras = self._simple_extras(cells, count)

        quarantine: dict[int, list[str]] = {}
        for i in [i for i, srid in enumerate(srids) if not srid]:
            quarantine.setdefault(i, []).append(QuarantineReason.MISSING_SOURCE_RECORD_ID)
        for i in [i for i, (g, f) in enumerate(zip(given, family, strict=True)) if not (g or f)]:
            quarantine.setdefault(i, []).append(QuarantineReason.NO_NAME)
        today, last_18 = self.today, self.last_18
        for i in [
            i for i, born in enumerate(born_on) if born is not None and (born > today or born <= last_18)
        ]:
            born = born_on[i]
            if born > today:
                quarantine.setdefault(i, []).append(QuarantineReason.BORN_IN_FUTURE)
            elif born <= self.last_25:
                quarantine.setdefault(i, []).append(QuarantineReason.AGED_25_OR_OVER)
            elif not consent[i]:
                quarantine.setdefault(i, []).append(QuarantineReason.ADULT_WITHOUT_CONSENT)

        # The stored values and their fingerprint, content_hash(stored), a column at a time.
        dates = [born.isoformat() if born else None for born in born_on]
        text_columns = [cells[c] for c in VALUE_COLUMNS]
        text_columns[_DATE_OF_BIRTH] = [d or "" for d in dates]
        digests = [
            blake2b(text.encode(), digest_size=16).hexdigest()
            for text in map("\x1f".join, zip(*text_columns, extras, strict=True))
        ]
        stored_columns = [cells[c] for c in VALUE_COLUMNS]
        stored_columns[_DATE_OF_BIRTH] = dates
        stored = list(map(list, zip(*stored_columns, extras, digests, strict=True)))
        withdrawn = [s == "withdrawn" for s in status]
        numbers = [number for number, _, _ in rows]
        out = list(map(prepared, numbers, srids, stored, warnings, ([] for _ in rows), repeat({}), withdrawn))

        special = [i for i, (number, _, malformed) in enumerate(rows) if malformed or number in duplicates]
        for i in sorted({*quarantine, *special}):
            number, raw, malformed = rows[i]
            if malformed:
                reasons, kept, gone = [QuarantineReason.MALFORMED_ROW], self._kept(raw), False
            elif i in quarantine:
                reasons, kept, gone = quarantine[i], self._kept(raw), withdrawn[i]
            else:  # a repeat of an earlier record id, otherwise loadable
                values = stored[i][: len(VALUE_COLUMNS)]
                kept = {c: _text(v) for c, v in zip(VALUE_COLUMNS, values, strict=True)}
                reasons, gone = [QuarantineReason.DUPLICATE_IN_FILE], withdrawn[i]
            out[i] = prepared(number, srids[i], [], warnings[i], reasons, kept, gone)
        return out

    def _simple_extras(self, cells: dict[str, list[Any]], count: int) -> list[str]:
        """Each row's extras as JSON when the source sends only school and GP groups, built a
        column at a time; the text is what json.dumps(extras_of(...)) gives."""
        parts: list[list[str]] = [[] for _ in range(count)]
        for group, code_column, date_column in _SIMPLE_GROUPS:
            if group not in self.rows.groups:
                continue
            for i, (code, day) in enumerate(zip(cells[code_column], cells[date_column], strict=True)):
                if code:
                    start = _quote(day.isoformat() if day else "")
                    parts[i].append(f'"{group}": {{"code": {_quote(code)}, "start_date": {start}}}')
        return ["{" + ", ".join(p) + "}" if p else "{}" for p in parts]

    def _kept(self, raw: Any) -> dict[str, str]:
        values = raw if isinstance(raw, dict) else dict(zip(self.header or (), raw, strict=False))
        return {k: v for k, v in values.items() if k in self.accepted}


_LEFT_OUT = object()
_first, _second = itemgetter(0), itemgetter(1)
_SIMPLE_GROUPS = (
    ("school", "school_urn", "school_start_date"),
    ("gp", "gp_practice_code", "gp_registration_date"),
)
_quote = encode_basestring_ascii  # json.dumps's own quoting of a string


def content_hash(stored: list[Any]) -> str:
    """What the source said, fingerprinted, so an unchanged record costs no write."""
    text = "\x1f".join("" if value is None else str(value) for value in stored)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


_DATE_OF_BIRTH = VALUE_COLUMNS.index("date_of_birth")


def clean_cell(
    column: str, parse: Callable[[str], n.Parsed], plain_limit: int, name_limit: int, text: str
) -> tuple[Any, tuple[Warning, ...]]:
    """One non-empty cell, exactly as RowValidator._parse treats it: (value or _LEFT_OUT, warnings)."""
    if plain_limit and len(text) <= plain_limit and text.isascii() and text.isprintable():
        return " ".join(text.split()), ()
    if name_limit and len(text) <= name_limit and text.isascii() and text.isprintable():
        collapsed = " ".join(text.split())
        if n.ASCII_NAME.match(collapsed):
            return collapsed, ()
    try:
        value, repairs = parse(text)
    except n.Invalid as problem:
        return _LEFT_OUT, (Warning(column, problem.kind, problem.message),)
    return value, tuple(Warning(column, r.kind, r.message) for r in repairs)


def _plain_column(values: list[str], limit: int, names: bool) -> bool:
    """Whether every value is already clean: printable ASCII, collapsed, within the limit."""
    if not limit or max(map(len, values), default=0) > limit:
        return False
    joined = "\x00".join(values)
    if joined.count("\x00") != len(values) - 1:
        return False  # a NUL inside a value
    return _CLEAN_COLUMN[names].fullmatch(joined) is not None


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime.date) else str(value or "")
