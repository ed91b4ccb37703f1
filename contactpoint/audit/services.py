"""The one entry point for audit events, and the sealer that chains them.

`audit_record` is called inside the transaction that returns or changes data, so the data and its
event commit together or not at all (no audit, no data).
"""

import datetime
import functools
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from contactpoint.access.actors import Actor
from contactpoint.compiled import prepared_cursor

from . import keys
from .criteria import criteria_seal
from .models import AuditCheckpoint, AuditEvent, AuditSeal, EventType, Outcome

GENESIS = "0" * 64
SEAL_GRACE = datetime.timedelta(seconds=5)  # longer than any transaction that writes an event
HASHED_FIELDS = (
    "uid",
    "occurred_at",
    "event_type",
    "outcome",
    "actor_user_id",
    "actor_username",
    "actor_role",
    "actor_organisation",
    "actor_local_authority",
    "on_behalf_of",
    "client",
    "reason",
    "child_ids",
    "details",
)
_SEALER_LOCK = 0x43505F4155444954  # "CP_AUDIT": one sealer at a time on PostgreSQL


# json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False), without making
# a new encoder for every event: the bytes are the same, so every entry ever signed still verifies.
_CANONICAL_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(values: dict[str, Any]) -> bytes:
    """The exact bytes an event's MAC and chain hash commit to."""
    content = {field: values[field] for field in HASHED_FIELDS}
    content["uid"] = str(content["uid"])
    content["occurred_at"] = _utc(content["occurred_at"]).isoformat()
    return _CANONICAL_JSON.encode(content).encode()


def _utc(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC)


def audit_record(
    *,
    event_type: EventType,
    outcome: Outcome = Outcome.SUCCESS,
    actor: Actor | None = None,
    username: str = "",
    child_ids: Iterable[str] = (),
    reason: str = "",
    details: dict[str, Any] | None = None,
    client: str = "",
) -> AuditEvent:
    """Writes the event (signed with the current audit key) and returns it."""
    uid, now = event_uid(), timezone.now()
    if details and isinstance(details.get("criteria"), dict):
        details = {**details, "criteria": criteria_seal(details["criteria"], uid=uid, moment=now)}
    values: dict[str, Any] = {
        "uid": uid,
        "occurred_at": now,
        "event_type": event_type,
        "outcome": outcome,
        "actor_user_id": actor.user_id if actor else None,
        "actor_username": actor.username if actor else username[:150],
        "actor_role": actor.role if actor else "",
        "actor_organisation": actor.organisation.code if actor else "",
        "actor_local_authority": actor.local_authority.code if actor else "",
        "on_behalf_of": actor.on_behalf_of.username if actor and actor.on_behalf_of else "",
        "client": client[:200],
        "reason": reason[:500],
        "child_ids": sorted(set(child_ids)),
        "details": details or {},
    }
    signing = keys.key_id()
    row = {**values, "mac": keys.signed_by(signing, canonical(values)), "key_id": signing, "id": None}
    row["id"] = _insert(row)
    names = _attnames()
    return AuditEvent.from_db(connection.alias, names, [row[name] for name in names])


def event_uid() -> uuid.UUID:
    """A UUID version 7 (RFC 9562): the millisecond, then 74 random bits.

    Unique like a version 4, but in time order, so each new entry of the uid's unique index lands
    on the index's last page instead of a random one of a log of a hundred million rows (a random
    page is a read from disk when cold and, after every checkpoint, a whole page in the WAL).
    """
    random = int.from_bytes(os.urandom(10))
    value = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76 | (random >> 62 & 0xFFF) << 64 | 0b10 << 62
    return uuid.UUID(int=value | random & (1 << 62) - 1)


_COLUMNS = ("mac", "key_id", *HASHED_FIELDS)


def _insert(values: dict[str, Any]) -> int:
    """One INSERT through the fields' own conversions, without building a model instance or
    compiling a query per event: every search and view writes one (docs/benchmarks.md)."""
    parameters = [
        values[name] if field is None else field.get_db_prep_save(values[name], connection)
        for name, field in _fields()
    ]
    with prepared_cursor(connection) as cursor:
        cursor.execute(_insert_sql(connection.vendor), parameters)
        return cursor.fetchone()[0]


@functools.cache
def _fields() -> tuple[tuple[str, Any], ...]:
    """Each column and the field that converts its value for the database; None for the strings
    and the integer, which audit_record builds as the database takes them."""
    fields = ((name, AuditEvent._meta.get_field(name)) for name in _COLUMNS)
    as_is = {"CharField", "BigIntegerField"}
    return tuple((name, None if field.get_internal_type() in as_is else field) for name, field in fields)


@functools.cache
def _attnames() -> tuple[str, ...]:
    return tuple(field.attname for field in AuditEvent._meta.concrete_fields)


@functools.cache
def _insert_sql(vendor: str) -> str:
    quote = connection.ops.quote_name
    column = {field.name: str(field.column) for field in AuditEvent._meta.concrete_fields}
    columns = ", ".join(quote(column[name]) for name in _COLUMNS)
    placeholders = ", ".join(["%s"] * len(_COLUMNS))
    table = quote(AuditEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) RETURNING id"  # noqa: S608 (the model's names)


def chain_seal(*, limit: int = 100_000, grace: datetime.timedelta = SEAL_GRACE) -> int:
    """Append settled, unsealed events to the chain in id order, then sign the new head."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEALER_LOCK])
        head = AuditSeal.objects.order_by("-position").select_related("event").first()
        position, previous = (head.position, head.entry_hash) if head else (0, GENESIS)
        after_id = head.event_id if head else 0
        events = (
            AuditEvent.objects.filter(id__gt=after_id, occurred_at__lte=timezone.now() - grace)
            .order_by("id")
            .values("id", *HASHED_FIELDS)[:limit]
        )
        seals = []
        for event in events:
            position += 1
            previous = chain_hash(previous, canonical(event), event["id"])
            seals.append(
                AuditSeal(event_id=event["id"], position=position, previous_hash="", entry_hash=previous)
            )
        for seal, prior in zip(
            seals, [head.entry_hash if head else GENESIS, *(s.entry_hash for s in seals)], strict=False
        ):
            seal.previous_hash = prior
        AuditSeal.objects.bulk_create(seals, batch_size=5000)
        if seals:
            signing = keys.key_id()
            AuditCheckpoint.objects.create(
                position=position,
                entry_hash=previous,
                signature=checkpoint_signature(position, previous, signing),
                key_id=signing,
            )
        return len(seals)


def chain_hash(previous: str, content: bytes, event_id: int) -> str:
    return hashlib.sha256(previous.encode() + str(event_id).encode() + b"|" + content).hexdigest()


def checkpoint_signature(position: int, entry_hash: str, key_id: str) -> str:
    return keys.signed_by(key_id, f"{position}:{entry_hash}".encode())
