"""Quarantined rows and data-quality warnings, each sealed under a data key of its own.

These rows carry no link to a child (destruction finds them by source record id), so they cannot
use a child's key; and they are few, so each gets its own 256-bit key, wrapped by the newest data
KEK with the key id as associated data (retention.crypto, as a child's key) and stored in the row
beside one AES-256-GCM blob of the row's identifying fields (associated data: table and row id,
so a blob moved to another row does not open). Deleting the row deletes its key; a backup's copy
opens only while the KEK that wrapped it is configured, and the backup cycle retires it
(docs/adr/0010-retention.md, "Quarantined rows and warnings").

Writers build rows with `rows_seal` (ids reserved first: the id is bound into the blob); readers
open them with `row_open`; rotation rewraps with `keys_rewrap`.
"""

import json
import secrets
import uuid
from collections import Counter
from typing import Any

from django.db import models, transaction
from django.db.models import Count

from contactpoint.records.sealed import ids_reserve
from contactpoint.retention import crypto

from .models import DataQualityWarning, OwnKeySealed, QuarantinedRow

MODELS: tuple[type[QuarantinedRow] | type[DataQualityWarning], ...] = (QuarantinedRow, DataQualityWarning)


def _context(model: type[models.Model], pk: int) -> str:
    return f"{model._meta.db_table}:{pk}"


def rows_seal(model: type[OwnKeySealed], rows: list[dict[str, Any]]) -> None:
    """Give each row (field values by name, a bulk insert's) its id, key and blob, in place; the
    sealed fields leave the row."""
    for row, pk in zip(rows, ids_reserve(model, len(rows)), strict=True):
        key, key_id = secrets.token_bytes(crypto.KEY_BYTES), uuid.uuid4().hex
        wrapped, kek_id = crypto.key_wrap(key, key_id=key_id)
        plain = json.dumps({name: row.pop(name) for name in model.OWN_SEALED}, separators=(",", ":"))
        row.update(
            id=pk,
            sealed=crypto.value_seal(key, plain, context=_context(model, pk)),
            key_wrapped=wrapped,
            key_id=key_id,
            kek_id=kek_id,
        )


def row_open(row: OwnKeySealed) -> dict[str, Any]:
    """The row's sealed fields, by name."""
    key = crypto.key_unwrap(bytes(row.key_wrapped), key_id=row.key_id, kek_id=row.kek_id)
    return json.loads(crypto.value_open(key, bytes(row.sealed), context=_context(type(row), row.pk)))


def keys_rewrap(*, batch_size: int = 1000) -> int:
    """Rewrap every row key not wrapped by the newest KEK (rotation). Idempotent and resumable."""
    newest = crypto.kek_ring().wrapping_id
    done = 0
    for model in MODELS:
        while True:
            with transaction.atomic():
                rows: list[Any] = list(
                    model.objects.select_for_update()
                    .exclude(kek_id=newest)
                    .only("key_wrapped", "key_id", "kek_id")
                    .order_by("pk")[:batch_size]
                )
                if not rows:
                    break
                for row in rows:
                    plain = crypto.key_unwrap(bytes(row.key_wrapped), key_id=row.key_id, kek_id=row.kek_id)
                    row.key_wrapped, row.kek_id = crypto.key_wrap(plain, key_id=row.key_id)
                model.objects.bulk_update(rows, ["key_wrapped", "kek_id"])
                done += len(rows)
    return done


def keys_by_kek() -> Counter[str]:
    """Row keys wrapped by each KEK."""
    counts: Counter[str] = Counter()
    for model in MODELS:
        counts.update(
            dict(model.objects.values_list("kek_id").annotate(n=Count("pk")).values_list("kek_id", "n"))
        )
    return counts
