"""A child's identifying values in the record tables, sealed under the child's data key.

Each row of a sealed table keeps its identifying columns as one AES-256-GCM blob under the
child's data key (retention.crypto), with the table and the row's id as associated data, so a
blob copied onto another row or table does not open. Destroying the child deletes its key, and
every copy of the blob, in last month's backup too, is unreadable (docs/adr/0010-retention.md).

Reading: a statement selects each row's blob with the child's wrapped key joined in (one
statement, no key query per child), and `rows_open` opens the rows afterwards, unwrapping each
child's key once. Writing: `rows_seal` (bulk, ids reserved first because the id is bound into
the blob) or a model instance's `save`. Nothing else names the blob's column: a test holds the
code to that, so no reader can skip the door by reading the column itself.
"""

import datetime
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.db import connection, models
from django.db.models import F, Func, OuterRef, Subquery
from django.db.models.functions import Coalesce

from contactpoint.retention import crypto
from contactpoint.retention.models import ChildDataKey

COLUMN = "sealed_values"
# What the key columns are called in a statement's rows (see `key_columns`).
KEY_COLUMNS = ("key_wrapped", "key_id", "kek_id")


def sealed_fields(model: type[models.Model]) -> tuple[str, ...]:
    """The identifying fields a model keeps sealed (its `SEALED` attribute; empty: none)."""
    return getattr(model, "SEALED", ())


def is_sealed(model: type[models.Model]) -> bool:
    return bool(sealed_fields(model))


def stand_ins(model: type[models.Model]) -> set[str]:
    """The columns a sealed model stores in place of its sealed fields: the blob, and the clear
    parts derived from them (SEALED_CLEAR, such as a birth date's year)."""
    return {COLUMN, *getattr(model, "SEALED_CLEAR", ())} if is_sealed(model) else set()


def _aad(model: type[models.Model], pk: int) -> bytes:
    return f"{model._meta.db_table}:{pk}".encode()


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime.date) else value


def seal(aead: AESGCM, model: type[models.Model], pk: int, values: Mapping[str, Any]) -> bytes:
    """The row's sealed fields as one blob (a JSON list in the order of `model.SEALED`)."""
    plain = json.dumps([_encode(values.get(f, "")) for f in sealed_fields(model)], separators=(",", ":"))
    return crypto.value_seal(aead, plain, context=_aad(model, pk).decode())


def seal_json(aead: AESGCM, model: type[models.Model], pk: int, plain: str) -> bytes:
    """`seal` of a layout its writer built itself (the feed loader, which holds the extras as
    JSON text already)."""
    return crypto.value_seal(aead, plain, context=_aad(model, pk).decode())


def _open(aead: AESGCM, model: type[models.Model], pk: int, blob: bytes) -> dict[str, Any]:
    listed = json.loads(crypto.value_open(aead, blob, context=_aad(model, pk).decode()))
    values = dict(zip(sealed_fields(model), listed, strict=True))
    for name in getattr(model, "SEALED_DATES", ()):
        values[name] = datetime.date.fromisoformat(values[name]) if values[name] else None
    return values


def _blob(value: bytes | memoryview | str) -> bytes:
    """Bytes from the driver, or hex text where the blob travelled inside JSON."""
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


class Keys:
    """Children's unwrapped keys, each unwrapped once however many of its rows are opened."""

    def __init__(self) -> None:
        self._ciphers: dict[str, AESGCM] = {}

    def cipher(self, wrapped: bytes | memoryview | str, key_id: str, kek_id: str) -> AESGCM:
        found = self._ciphers.get(key_id)
        if found is None:
            plain = crypto.key_unwrap(_blob(wrapped), key_id=key_id, kek_id=kek_id)
            found = self._ciphers[key_id] = crypto.cipher(plain)
        return found


def rows_open(
    model: type[models.Model], rows: Iterable[dict[str, Any]], *, keys: Keys | None = None
) -> Iterator[dict[str, Any]]:
    """Rows of a statement with their sealed fields opened (and the blob and key columns gone).

    Each row holds "pk", the blob and the child's key columns (`key_columns`). A row whose key is
    gone (the child was destroyed under the reader) comes back with empty fields.
    """
    keys = keys or Keys()
    for row in rows:
        row = dict(row)
        blob = row.pop(COLUMN)
        wrapped, key_id, kek_id = (row.pop(c) for c in KEY_COLUMNS)
        if wrapped is None or blob is None:
            row.update(dict.fromkeys(sealed_fields(model), None))
        else:
            row.update(_open(keys.cipher(wrapped, key_id, kek_id), model, row["pk"], _blob(blob)))
        yield row


def key_columns(child: str = "child_id") -> dict[str, Subquery]:
    """The child's wrapped key as columns of the reading statement (`child`: the row's child id)."""
    key = ChildDataKey.objects.filter(child_id=OuterRef(child))
    return {
        name: Subquery(key.values(column)[:1])
        for name, column in zip(KEY_COLUMNS, ("wrapped", "key_id", "kek_id"), strict=True)
    }


def feed_key_columns(prefix: str = "") -> dict[str, Coalesce]:
    """The wrapped key a feed row was sealed under, joined in: its child's key once materialised,
    its file's load key before (exactly one of `sealed_key`, `load_key` is set; feeds.models).
    `prefix`: the path to the feed row from the statement's model ("record__" from a version)."""
    return {
        name: Coalesce(F(f"{prefix}sealed_key__{column}"), F(f"{prefix}load_key__{column}"))
        for name, column in zip(KEY_COLUMNS, ("wrapped", "key_id", "kek_id"), strict=True)
    }


def _is_feed(model: type[models.Model]) -> bool:
    return any(f.name == "load_key" for f in model._meta.concrete_fields)


def _sealed_path(model: type[models.Model], field: str) -> bool:
    """A field the blob holds, or a path into one of its JSON values ("extras__carers__0__...")."""
    return field.split("__", 1)[0] in sealed_fields(model)


def values_query(query: models.QuerySet, *fields: str) -> models.QuerySet:
    """The statement reading `fields` of `query`'s rows: the clear ones, the blob and its key (not
    yet opened: `rows_opened` opens what it returns, after the statement ran)."""
    model = query.model
    clear = [f for f in dict.fromkeys(("pk", *fields)) if not _sealed_path(model, f)]
    keys = feed_key_columns() if _is_feed(model) else key_columns()
    return query.values(*clear, COLUMN, **keys)


def rows_opened(
    model: type[models.Model],
    rows: Iterable[dict[str, Any]],
    fields: Iterable[str] = (),
    *,
    keys: Keys | None = None,
) -> Iterator[dict[str, Any]]:
    """`rows_open`, then each path into a sealed JSON value among `fields` looked up as the ORM
    would have (None where the path is missing)."""
    paths = [f for f in fields if "__" in f and _sealed_path(model, f)]
    for row in rows_open(model, rows, keys=keys):
        for path in paths:
            row[path] = _dig(row, path.split("__"))
        yield row


def _dig(value: Any, steps: list[str]) -> Any:
    for step in steps:
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def values_opened(query: models.QuerySet, *fields: str, limit: int | None = None) -> list[dict[str, Any]]:
    """`query.values(*fields)` with the model's sealed fields opened, in one statement (the first
    `limit` rows only, when given). Sealed fields (or paths into them) may be among `fields`."""
    rows = values_query(query, *fields)
    return list(rows_opened(query.model, rows if limit is None else rows[:limit], fields))


def values_iterated(query: models.QuerySet, *fields: str, chunk_size: int = 5000) -> Iterator[dict[str, Any]]:
    """`values_opened` for reads too large to hold twice (a full linkage run): rows are opened as
    the statement streams them, and keep only the fields asked for (a record's other sealed values,
    its extras above all, more than doubled a full run's memory)."""
    wanted = tuple(dict.fromkeys(("pk", *fields)))
    rows = values_query(query, *fields).iterator(chunk_size=chunk_size)
    return ({name: row[name] for name in wanted} for row in rows_opened(query.model, rows, fields))


class Hex(Func):
    """A blob as hex text, so it can travel inside a JSON row (SQLite's JSON refuses blobs)."""

    output_field = models.TextField()

    def as_sql(self, compiler, connection, **extra):  # type: ignore[override]
        template = (
            "encode(%(expressions)s, 'hex')" if connection.vendor == "postgresql" else "hex(%(expressions)s)"
        )
        return super().as_sql(compiler, connection, template=template, **extra)


def json_columns(sealed: bool) -> dict[str, Func | F]:
    """What a JSON-packed row of the door's statement carries for `rows_open`: the blob as hex.
    The key comes from the statement's key arm (`json_key_columns`)."""
    return {COLUMN: Hex(F(COLUMN))} if sealed else {}


def json_key_columns() -> dict[str, Func | F]:
    return {"key_wrapped": Hex(F("wrapped")), "key_id": F("key_id"), "kek_id": F("kek_id")}


# Writing.


def ciphers_for(child_ids: Iterable[int]) -> dict[int, AESGCM]:
    """Each child's cipher, keys created where missing: two statements and one unwrap a child."""
    ids = sorted(set(child_ids))
    found: dict[int, tuple[bytes, str, str]] = {}
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        for child_id, wrapped, key_id, kek_id in ChildDataKey.objects.filter(child_id__in=chunk).values_list(
            "child_id", "wrapped", "key_id", "kek_id"
        ):
            found[child_id] = (bytes(wrapped), key_id, kek_id)
    missing = [child_id for child_id in ids if child_id not in found]
    plain = crypto.data_keys_create(child_ids=missing) if missing else {}
    for child_id, (wrapped, key_id, kek_id) in found.items():
        plain[child_id] = crypto.key_unwrap(wrapped, key_id=key_id, kek_id=kek_id)
    return {child_id: crypto.cipher(key) for child_id, key in plain.items()}


def ids_reserve(model: type[models.Model], count: int) -> list[int]:
    """Ids for rows about to be inserted: the id is bound into each row's blob, so it is known first.

    PostgreSQL hands them out from the table's sequence; SQLite (one writer at a time) continues
    from the highest id, inside the caller's transaction.
    """
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [pk for (pk,) in cursor.fetchall()]
        cursor.execute(f'SELECT max(id) FROM "{table}"')  # noqa: S608 (a model's own table name)
        (highest,) = cursor.fetchone()
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        used = cursor.fetchone()
    start = max(highest or 0, used[0] if used else 0) + 1
    return list(range(start, start + count))


def rows_seal(model: type[models.Model], rows: list[dict[str, Any]], ciphers: Mapping[int, AESGCM]) -> None:
    """Give each row of field values (a bulk insert's) its id and blob, in place; the sealed fields
    leave the row."""
    fields = sealed_fields(model)
    for row, pk in zip(rows, ids_reserve(model, len(rows)), strict=True):
        clear = model.clear_parts(row)  # type: ignore[attr-defined]
        # (the clear parts first: they may refuse the row, before an id or a key is spent on it)
        row["id"] = pk
        row[COLUMN] = seal(ciphers[row["child_id"]], model, pk, row)
        row.update(clear)
        for name in fields:
            row.pop(name, None)


def row_sealed(aead: AESGCM, model: type[models.Model], pk: int, values: Mapping[str, Any]) -> dict[str, Any]:
    """A new row's id, blob and clear parts, by column (for writers that build rows themselves).
    The clear parts first: they may refuse the row before anything is sealed."""
    clear = model.clear_parts(values)  # type: ignore[attr-defined]
    return {"id": pk, COLUMN: seal(aead, model, pk, values), **clear}


def instance_seal(instance: models.Model, values: Mapping[str, Any]) -> None:
    """Before an instance's first save: reserve its id and seal its values under its child's key."""
    model = type(instance)
    given = {f.attname: getattr(instance, f.attname) for f in model._meta.concrete_fields}
    clear = model.clear_parts({**given, **values})  # type: ignore[attr-defined]
    if instance.pk is None:
        instance.pk = ids_reserve(model, 1)[0]
    child_id = instance.child_id  # type: ignore[attr-defined]
    aead = ciphers_for([child_id])[child_id]
    setattr(instance, COLUMN, seal(aead, model, instance.pk, values))
    for name, value in clear.items():
        setattr(instance, name, value)


# Feed rows (stage B): sealed at load under the file's load key, re-sealed under the child's key
# by materialisation.


def feed_rows_reseal(model: type[models.Model], rows: list[tuple[int, int, bytes, str | None]]) -> None:
    """Point feed rows, given as (id, child id, blob sealed under that child's key, content hash
    or None), at their child's key and off the load key: one statement per 5,000 rows. A row
    given a hash is re-sealed only if its content hash is still that (a feed load may have
    rewritten it since it was read: its new values stay under their load key)."""
    table = connection.ops.quote_name(model._meta.db_table)
    update = f"UPDATE {table} AS r SET {COLUMN} = v.blob, sealed_child_id = v.child, load_key_id = NULL"  # noqa: S608
    where = "WHERE r.id = v.id AND (v.hash IS NULL OR r.content_hash = v.hash)"
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            derived = "(SELECT %s AS id, %s AS child, %s AS blob, %s AS hash) AS v"
            cursor.executemany(f"{update} FROM {derived} {where}", rows)
            return
        derived = "unnest(%s::bigint[], %s::bigint[], %s::bytea[], %s::text[]) AS v(id, child, blob, hash)"
        for start in range(0, len(rows), 5000):
            chunk = rows[start : start + 5000]
            cursor.execute(f"{update} FROM {derived} {where}", [[row[i] for row in chunk] for i in range(4)])
