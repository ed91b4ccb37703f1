"""Envelope encryption for crypto-shredding: one data key per child, wrapped by a key-encryption
key (KEK) kept outside the database (docs/adr/0010-retention.md).

A child's identifying values are sealed with AES-256-GCM under the child's data key; the data
key is stored only wrapped by the newest KEK. Destroying the child deletes its wrapped key, so
every copy of the sealed values — a replica, last month's backup — becomes unreadable without
having to find and rewrite those copies. KEKs rotate like the audit keyring: append a new one,
restart, run `contactpoint rotate_data_keys` to rewrap; retire the old KEK only when no key names
it (the command says how many still do).
"""

import os
import secrets
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from contactpoint.audit.keys import configured_keys, key_id_of

from .models import ChildDataKey

NONCE_BYTES = 12
KEY_BYTES = 32


class KeyDestroyed(LookupError):
    """The child's data key no longer exists: whatever was sealed under it is gone for good."""


class UnknownKek(LookupError):
    """A wrapped data key names a key-encryption key the keyring does not hold."""


@dataclass(frozen=True)
class KekRing:
    keys: dict[str, bytes]  # id -> key, oldest first
    wrapping_id: str

    def key(self, kek_id: str) -> bytes:
        try:
            return self.keys[kek_id]
        except KeyError:
            raise UnknownKek(f"No key-encryption key {kek_id} is configured.") from None


@cache
def kek_ring() -> KekRing:
    keys = [
        key[:KEY_BYTES] for key in configured_keys("CONTACTPOINT_DATA_KEK", what="data key-encryption key")
    ]
    return KekRing(keys={key_id_of(k): k for k in keys}, wrapping_id=key_id_of(keys[-1]))


@receiver(setting_changed)
def _forget_keks(*, setting, **kwargs):
    if setting.startswith("CONTACTPOINT_DATA_KEK"):
        kek_ring.cache_clear()


def _wrap(data_key: bytes, key_id: str, kek_id: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    # The key id is bound as associated data: a wrapped key copied onto another child's row fails.
    return nonce + AESGCM(kek_ring().key(kek_id)).encrypt(nonce, data_key, key_id.encode())


def _unwrap(row: ChildDataKey) -> bytes:
    return key_unwrap(bytes(row.wrapped), key_id=row.key_id, kek_id=row.kek_id)


def key_wrap(data_key: bytes, *, key_id: str) -> tuple[bytes, str]:
    """A data key wrapped by the newest KEK, and that KEK's id (for keys other than children's)."""
    wrapping_id = kek_ring().wrapping_id
    return _wrap(data_key, key_id, wrapping_id), wrapping_id


def key_unwrap(wrapped: bytes, *, key_id: str, kek_id: str) -> bytes:
    return AESGCM(kek_ring().key(kek_id)).decrypt(
        wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode()
    )


def data_key_ensure(*, child_id: int) -> ChildDataKey:
    """The child's wrapped data key, created on first use."""
    existing = ChildDataKey.objects.filter(child_id=child_id).first()
    if existing is not None:
        return existing
    key_id = uuid.uuid4().hex
    ring = kek_ring()
    with transaction.atomic():
        row, _ = ChildDataKey.objects.get_or_create(
            child_id=child_id,
            defaults={
                "key_id": key_id,
                "wrapped": _wrap(secrets.token_bytes(KEY_BYTES), key_id, ring.wrapping_id),
                "kek_id": ring.wrapping_id,
            },
        )
    return row


def data_keys_create(*, child_ids: list[int]) -> dict[int, bytes]:
    """Data keys for many children at once (bulk writes), returned unwrapped. A key another
    process created meanwhile wins, and is the one returned."""
    ring = kek_ring()
    fresh = {child_id: (uuid.uuid4().hex, secrets.token_bytes(KEY_BYTES)) for child_id in child_ids}
    ChildDataKey.objects.bulk_create(
        [
            ChildDataKey(
                child_id=child_id,
                key_id=key_id,
                wrapped=_wrap(plain, key_id, ring.wrapping_id),
                kek_id=ring.wrapping_id,
            )
            for child_id, (key_id, plain) in fresh.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    stored = dict(ChildDataKey.objects.filter(child_id__in=child_ids).values_list("child_id", "key_id"))
    return {
        child_id: plain if stored[child_id] == key_id else data_key(child_id=child_id)
        for child_id, (key_id, plain) in fresh.items()
    }


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def data_key(*, child_id: int) -> bytes:
    """The child's plaintext data key; KeyDestroyed once the child has been destroyed."""
    row = ChildDataKey.objects.filter(child_id=child_id).first()
    if row is None:
        raise KeyDestroyed(f"Child {child_id} has no data key.")
    return _unwrap(row)


def cipher(key: bytes) -> AESGCM:
    """A reusable cipher for one child's key: building it costs about as much as one decryption,
    so callers opening several values of a child build it once (bench/retention_crypto.py)."""
    return AESGCM(key)


def value_seal(key: bytes | AESGCM, plaintext: str, *, context: str) -> bytes:
    """`context` (say "ChildName.family_name:123") is authenticated, so a sealed value cannot be
    moved to another field or row and still open."""
    nonce = os.urandom(NONCE_BYTES)
    aead = key if isinstance(key, AESGCM) else AESGCM(key)
    return nonce + aead.encrypt(nonce, plaintext.encode(), context.encode())


def value_open(key: bytes | AESGCM, sealed: bytes, *, context: str) -> str:
    aead = key if isinstance(key, AESGCM) else AESGCM(key)
    return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context.encode()).decode()


def data_keys_rewrap(*, batch_size: int = 1000) -> int:
    """Rewrap every data key not wrapped by the newest KEK (rotation): children's keys and the feed
    files' load keys. Idempotent and resumable."""
    from contactpoint.feeds.models import LoadKey

    return sum(_rewrap(model, batch_size) for model in (ChildDataKey, LoadKey))


def _rewrap(model: type[ChildDataKey] | Any, batch_size: int) -> int:
    ring = kek_ring()
    done = 0
    while True:
        with transaction.atomic():
            rows = list(
                model.objects.select_for_update().exclude(kek_id=ring.wrapping_id).order_by("pk")[:batch_size]
            )
            if not rows:
                return done
            now = timezone.now()
            for row in rows:
                plain = key_unwrap(bytes(row.wrapped), key_id=row.key_id, kek_id=row.kek_id)
                row.wrapped = _wrap(plain, row.key_id, ring.wrapping_id)
                row.kek_id = ring.wrapping_id
                row.rewrapped_at = now
            model.objects.bulk_update(rows, ["wrapped", "kek_id", "rewrapped_at"])
            done += len(rows)


def data_keys_by_kek() -> dict[str, int]:
    """Keys wrapped by each KEK: children's data keys, feed files' load keys, the audit log's
    search-criteria keys, the candidate index's blinding keys and quarantined rows' and warnings'
    own keys (a KEK may be retired only when none depends on it)."""
    from collections import Counter

    from django.db.models import Count

    from contactpoint.audit.models import CriteriaKey
    from contactpoint.feeds.models import LoadKey
    from contactpoint.feeds.sealed import keys_by_kek
    from contactpoint.linkage.models import IndexKey

    counts: Counter[str] = keys_by_kek()
    for model in (ChildDataKey, LoadKey, CriteriaKey, IndexKey):
        counts.update(
            dict(model.objects.values_list("kek_id").annotate(n=Count("pk")).values_list("kek_id", "n"))
        )
    return dict(counts)
