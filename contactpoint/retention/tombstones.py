"""Tombstones: a destroyed child must not come back with the next feed.

Destruction deletes every source record of the child, so the same row sent again would look new
to the loader and linkage would build the child afresh. Destruction therefore leaves, in its own
transaction, a keyed digest of each of the child's source records (source and record id) and NHS
numbers; the loader quarantines a row matching one instead of loading it.

The digests are HMAC-SHA-256 under the tombstone keyring (CONTACTPOINT_TOMBSTONE_KEY, kept
outside the database like the audit keyring): an NHS number has few enough possible values that
a plain hash could be reversed by trying them all, a keyed one cannot without the key. Every key
of the keyring is tried when matching, so a key can be added without losing older tombstones.
"""

import datetime
import hmac
from collections.abc import Iterable
from functools import cache

from django.core.signals import setting_changed
from django.dispatch import receiver

from contactpoint.audit.keys import configured_keys, key_id_of
from contactpoint.feeds.models import SourceRecord
from contactpoint.records import sealed
from contactpoint.records.models import ChildIdentifier

from .models import Tombstone, TombstoneKind

SEPARATOR = "\x1f"  # cannot occur in a source code, a record id or an NHS number


@cache
def _keys() -> dict[str, bytes]:
    """Key id -> key, newest first (the newest makes new tombstones)."""
    keys = configured_keys("CONTACTPOINT_TOMBSTONE_KEY", what="tombstone key")
    return {key_id_of(key): key for key in reversed(keys)}


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs):
    if setting.startswith("CONTACTPOINT_TOMBSTONE_KEY"):
        _keys.cache_clear()


def _digest(key: bytes, kind: str, *parts: str) -> bytes:
    return hmac.digest(key, SEPARATOR.join((kind, *parts)).encode(), "sha256")


def tombstones_write(*, child_pks: Iterable[int], on: datetime.date) -> int:
    """Leave tombstones for these children's source records and NHS numbers (call before deleting
    them, in the destruction's transaction). Returns how many were written."""
    pks = list(child_pks)
    key_id, key = next(iter(_keys().items()))
    digests: dict[bytes, str] = {}
    records = SourceRecord.objects.filter(child_id__in=pks).values_list("source__code", "source_record_id")
    for code, srid in records.iterator(chunk_size=5000):
        digests[_digest(key, TombstoneKind.SOURCE_RECORD, code, srid)] = TombstoneKind.SOURCE_RECORD
    numbers = {
        row["value"]
        for row in sealed.values_opened(ChildIdentifier.objects.filter(child_id__in=pks, scheme="nhs_number"))
    } | {
        row["nhs_number"]
        for row in sealed.values_opened(SourceRecord.objects.filter(child_id__in=pks, has_nhs_number=True))
        if row["nhs_number"]
    }
    for number in numbers:
        digests[_digest(key, TombstoneKind.NHS_NUMBER, number)] = TombstoneKind.NHS_NUMBER
    Tombstone.objects.bulk_create(
        (Tombstone(kind=kind, digest=d, key_id=key_id, destroyed_on=on) for d, kind in digests.items()),
        batch_size=5000,
        ignore_conflicts=True,
    )
    return len(digests)


def tombstones_exist() -> bool:
    return Tombstone.objects.exists()


def destroyed_on(*, source_code: str, rows: Iterable[tuple[str, str]]) -> dict[str, datetime.date]:
    """Of these rows (source record id, NHS number) from one source, those describing a destroyed
    child, each with the date it was destroyed (one query)."""
    wanted: dict[bytes, list[str]] = {}
    keys = list(_keys().values())
    for srid, nhs_number in rows:
        for key in keys:
            wanted.setdefault(_digest(key, TombstoneKind.SOURCE_RECORD, source_code, srid), []).append(srid)
            if nhs_number:
                wanted.setdefault(_digest(key, TombstoneKind.NHS_NUMBER, nhs_number), []).append(srid)
    found: dict[str, datetime.date] = {}
    if not wanted:
        return found
    for digest, on in Tombstone.objects.filter(digest__in=list(wanted)).values_list("digest", "destroyed_on"):
        for srid in wanted[bytes(digest)]:  # PostgreSQL gives a memoryview
            found[srid] = min(on, found.get(srid, on))
    return found
