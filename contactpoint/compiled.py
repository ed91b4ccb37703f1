"""Reads on every request's path, written with the ORM and compiled once per database connection.

Building and compiling a queryset costs more Python than running its statement on a busy
database: a search paid a third of its CPU for it. A `CompiledRead` compiles its queryset the first
time a connection runs it, with stand-in values where the request's values go, and afterwards
only swaps the values in, runs the SQL and converts the rows as the ORM would (the same
converters, so SQLite's dates are dates). The access door's scope and record reads do the same
by hand (`access.door`).
"""

import functools
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.sql.compiler import SQLCompiler

STAND_IN = "\u2039stand-in:{}\u203a"  # a value no request sends, so it marks where one goes


def stand_in(name: str) -> str:
    return STAND_IN.format(name)


MEMBERS = {  # a list of ids as one parameter: an array on PostgreSQL, a JSON list elsewhere
    "postgresql": "SELECT unnest(%s::bigint[])",
    "sqlite": "SELECT value FROM json_each(%s)",
}


def members(vendor: str, name: str) -> RawSQL:
    """`pk__in=members(vendor, "ids")`: the ids given as `ids=[...]` when the read runs."""
    return RawSQL(MEMBERS[vendor], [stand_in(name)])  # noqa: S611 (fixed SQL)


def member_list(vendor: str, ids: list[int]) -> Any:
    import json

    return list(ids) if vendor == "postgresql" else json.dumps(list(ids))


@dataclass(frozen=True)
class _Compiled:
    compiler: SQLCompiler
    sql: str
    params: tuple[Any, ...]
    names: tuple[str, ...]
    converters: dict[int, Any]  # the ORM's, per column: what `.values()` would apply to the rows


class CompiledRead:
    """A `.values(...)` queryset built by `build(vendor)` with `stand_in(name)` values; `rows`
    runs it with the named values and returns the dicts `.values()` would."""

    def __init__(self, build: Callable[[str], QuerySet]) -> None:
        self._build = build
        self._compiled: weakref.WeakKeyDictionary[BaseDatabaseWrapper, _Compiled] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def rows(self, using: str = "default", **values: Any) -> list[dict[str, Any]]:
        connection = connections[using]
        compiled = self._compiled.get(connection) or self._compile(connection)
        stand_ins = {stand_in(name): value for name, value in values.items()}
        params = [stand_ins.get(p, p) if isinstance(p, str) else p for p in compiled.params]
        with prepared_cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        names = compiled.names
        if compiled.converters:
            fetched = compiled.compiler.apply_converters(fetched, compiled.converters)
        return [dict(zip(names, row, strict=True)) for row in fetched]

    def _compile(self, connection: BaseDatabaseWrapper) -> _Compiled:
        """Per connection, not per database: the compiler's converters are bound to it."""
        query = self._build(connection.vendor).query
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()
        names = (
            tuple(query.selected)
            if query.selected
            else (*query.extra_select, *query.values_select, *query.annotation_select)
        )
        converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
        compiled = _Compiled(compiler, sql, tuple(params), tuple(names), converters)
        with self._lock:
            self._compiled[connection] = compiled
        return compiled


PREPARE_ON_REQUEST_ONLY = 2**31 - 1  # psycopg prepares nothing by itself (Django's default is never)


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for the few fixed statements every request runs (the token, the candidates, the
    search's scope, the audit event): on PostgreSQL their values are bound by the server and each
    statement is prepared the first time a connection runs it, so later runs skip parsing and
    planning, which cost the database more than running them (the token's join took a millisecond
    to plan and a tenth of one to run), and psycopg no longer quotes every value into the text.

    Elsewhere, and for every other statement, Django's own cursor (values bound in the client,
    nothing prepared). Prepared statements live in the connection's session: a pooler in
    transaction mode in front of PostgreSQL would need to keep them (PgBouncer's
    `max_prepared_statements`); the deployment connects directly.
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()  # as connection.cursor() does
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if raw.prepare_threshold is None:
            raw.prepare_threshold = PREPARE_ON_REQUEST_ONLY
        return connection._prepare_cursor(_preparing_cursor()(raw))  # type: ignore[attr-defined]


@functools.cache
def _preparing_cursor() -> type:
    """Django's server-binding cursor, preparing what it runs (psycopg prepares a statement only
    when asked, or once the connection's threshold of runs is reached)."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any
        ) -> Any:
            prepare = True if prepare is None else prepare
            return super().execute(query, params, prepare=prepare, **kwargs)  # type: ignore[misc]

    return PreparingCursor
