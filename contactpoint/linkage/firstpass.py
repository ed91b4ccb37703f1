"""What a first pass leaves to its end: foreign-key checks and secondary indexes.

PostgreSQL checks each inserted row's foreign keys with a trigger query per row and key, and
puts each row into every index as it goes; in a first full pass (millions of assertion and
candidate-key rows, each with three or four keys, inserted in child order while most indexes are
in another order) that was most of the database's work. Adding a foreign key to a filled table
checks every row in one join, and building an index sorts once. So a first pass drops the written
tables' foreign keys and secondary (non-unique) indexes, keeping their exact definitions on its
run in the same transaction, and puts them back when it ends; a run that stopped is finished by
the next, which puts them back then, so a definition is never lost. The index is not in use
during a first pass, and adding a key back fails loudly, changing nothing, if any row breaks it.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction

from .models import LinkRun

FOREIGN_KEY, INDEX = "foreign_key", "index"


@contextmanager
def checks_deferred_to_end(*, run: LinkRun | None, tables: Sequence[str], start: bool) -> Iterator[None]:
    """`start`: drop these tables' foreign keys and secondary indexes for the pass (PostgreSQL
    only); a run that holds dropped ones gets them back at the end, whichever pass dropped them."""
    if run is not None and start and connection.vendor == "postgresql":
        checks_drop(run=run, tables=tables)
    try:
        yield
    finally:
        if run is not None and run.dropped_for_pass:
            checks_restore(run=run)


def checks_drop(*, run: LinkRun, tables: Sequence[str]) -> None:
    with transaction.atomic(), connection.cursor() as cursor, _no_pending_checks(cursor):
        cursor.execute(
            "SELECT 'foreign_key', c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid "
            "WHERE k.contype = 'f' AND k.conrelid = ANY(%s::regclass[]) "
            "UNION ALL SELECT 'index', c.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid "
            "WHERE x.indrelid = ANY(%s::regclass[]) AND NOT x.indisprimary AND NOT x.indisunique "
            "ORDER BY 1, 2, 3",
            [list(tables), list(tables)],
        )
        run.dropped_for_pass = [list(row) for row in cursor.fetchall()]
        run.save(update_fields=["dropped_for_pass"])
        for kind, table, name, _ in run.dropped_for_pass:
            if kind == FOREIGN_KEY:
                cursor.execute(f"ALTER TABLE {_quoted(table)} DROP CONSTRAINT {_quoted(name)}")
            else:
                cursor.execute(f"DROP INDEX {_quoted(name)}")


def checks_restore(*, run: LinkRun) -> None:
    """Build the indexes, then add the keys back: each checks the whole table in one query."""
    with transaction.atomic(), connection.cursor() as cursor, _no_pending_checks(cursor):
        for kind, table, name, definition in sorted(run.dropped_for_pass, key=lambda d: d[0] != INDEX):
            if kind == FOREIGN_KEY:
                cursor.execute(f"ALTER TABLE {_quoted(table)} ADD CONSTRAINT {_quoted(name)} {definition}")
            else:
                cursor.execute(definition)
        run.dropped_for_pass = []
        run.save(update_fields=["dropped_for_pass"])


@contextmanager
def _no_pending_checks(cursor) -> Iterator[None]:
    """A table with deferred checks still queued cannot be altered: run them now (a caller's
    open transaction may have written rows), and defer them again after."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)
