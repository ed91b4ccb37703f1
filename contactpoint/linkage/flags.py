"""Clearing `needs_linking` only on records still as they were when linked (ADR 0020).

Feed loads write records while a link run works: a record the loader changes after the run read
it, and before the run clears its flag, must keep the flag, or its new values are never linked.
So every clear names the record as the run saw it (its content hash and whether it was live)
and applies only where the row still matches; the loader sets the flag with every change it
makes, so a record that changed keeps it and the next run links it.
"""

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection

from contactpoint.feeds.models import SourceRecord

# A record's state as a link decision read it: (content hash, live).
Seen = tuple[str, bool]
# Rows joined per statement (see `_point` in services: few, large statements).
CHUNK = 250_000
# The condition, on a source record `r` joined to `v` (hash, live): still what was read.
UNCHANGED = "r.content_hash = v.hash AND (r.withdrawn_at IS NULL) = v.live"


def seen_of(row: dict[str, Any]) -> Seen:
    """A record's state from values read with it (`content_hash` and `withdrawn_at`)."""
    return row["content_hash"], row["withdrawn_at"] is None


def joined(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> tuple[str, list]:
    """`rows` as a derived table `v` with these (name, PostgreSQL type) columns, passed as one
    parameter per column (arrays) on PostgreSQL and one JSON parameter on SQLite: a statement
    per row, or many parameters per row, costs more in sending and parsing than the update."""
    names = ", ".join(name for name, _ in columns)
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        return f"unnest({arrays}) AS v({names})", [[row[i] for row in rows] for i in range(len(columns))]
    values = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
    derived = f"(SELECT {values} FROM json_each(%s)) AS v"  # noqa: S608
    return derived, [json.dumps([list(row) for row in rows])]


def needs_linking_clear(*, seen: dict[int, Seen], unlinked_only: bool = False) -> None:
    """Clear the flag of these records where each is still as seen (`unlinked_only`: and has no
    child); a record changed since keeps its flag for the next run."""
    table = connection.ops.quote_name(SourceRecord._meta.db_table)
    rows = [(pk, hash_, live) for pk, (hash_, live) in sorted(seen.items())]
    unlinked = " AND r.child_id IS NULL" if unlinked_only else ""
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            pairs, params = joined(
                (("id", "bigint"), ("hash", "text"), ("live", "boolean")), rows[start : start + CHUNK]
            )
            cursor.execute(
                f"UPDATE {table} AS r SET needs_linking = %s FROM {pairs} "  # noqa: S608
                f"WHERE r.id = v.id AND {UNCHANGED}{unlinked}",
                [False, *params],
            )
