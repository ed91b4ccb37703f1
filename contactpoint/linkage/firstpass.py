"""What a first run leaves to its end: foreign-key checks and secondary indexes.

PostgreSQL checks each written row's foreign keys with a trigger query per row and key, and puts
each row into every index as it goes; in a first run (millions of rows: each source record given
its child, its link history, its assertions and candidate keys, written in an order unlike most
indexes') that was most of the database's work. Adding a foreign key to a filled table checks
every row in one join, and building an index sorts once. So a first run drops the foreign keys
and secondary (non-unique) indexes of the tables it writes a row of per record, keeping their
exact definitions on its run in the same transaction, and puts them back when its
materialisation ends; a run that stopped is finished by the next, which puts them back then, so
a definition is never lost. The index is not in use during a first run, and adding a key back
fails loudly, changing nothing, if any row breaks it.
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
        dropping = [list(row) for row in cursor.fetchall()]
        run.dropped_for_pass = [*run.dropped_for_pass, *dropping]
        run.save(update_fields=["dropped_for_pass"])
        for kind, table, name, _ in dropping:
            if kind == FOREIGN_KEY:
                cursor.execute(f"ALTER TABLE {_quoted(table)} DROP CONSTRAINT {_quoted(name)}")
            else:
                cursor.execute(f"DROP INDEX {_quoted(name)}")


def checks_restore(*, run: LinkRun) -> None:
    """Build the indexes, then add the keys back (each checks the whole table in one query), then
    gather the tables' statistics, so the first queries after a first pass are planned well."""
    restored = sorted(run.dropped_for_pass, key=lambda d: d[0] != INDEX)
    with transaction.atomic(), connection.cursor() as cursor, _no_pending_checks(cursor):
        for kind, table, name, definition in restored:
            if kind == FOREIGN_KEY:
                cursor.execute(f"ALTER TABLE {_quoted(table)} ADD CONSTRAINT {_quoted(name)} {definition}")
            else:
                cursor.execute(definition)
        run.dropped_for_pass = []
        run.save(update_fields=["dropped_for_pass"])
        for table in sorted({table for _, table, _, _ in restored}):
            cursor.execute(f"ANALYZE {_quoted(table)}")  # plans for the rows just written


@contextmanager
def _no_pending_checks(cursor) -> Iterator[None]:
    """A table with deferred checks still queued cannot be altered: run them now (a caller's
    open transaction may have written rows), and defer them again after."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)
