"""Reads on every request's path, written with the ORM and compiled once per database connection.

Building and compiling a queryset costs more Python than running its statement on a busy
database: a search paid a third of its CPU for it. A `CompiledRead` compiles its queryset the first
time a connection runs it, with stand-in values where the request's values go, and afterwards
only swaps the values in, runs the SQL and converts the rows as the ORM would (the same
converters, so SQLite's dates are dates). The access door's scope and record reads do the same
by hand (`access.door`).
"""

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
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
        with connection.cursor() as cursor:
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
