"""Blind keys: the candidate index holds HMACs of its keys, not the names and dates they spell.

A blocking key such as "2:2014-03-07|S530" or "0:9434765919" is an identifying value in the
clear; the index stores HMAC-SHA-256 of it (truncated to 16 bytes) under an `IndexKey`, and a
search blinds its own keys the same way before looking them up. The family-name trigrams that let
a search find a name whose sound a typo changed are blinded inside the birth date ("t:" date "|"
trigram), so a trigram look-up is only ever within one birth date and never opens a record.

A birth date or a family name has little entropy: anyone holding the HMAC key could blind a
dictionary and read the index back. The key is therefore wrapped by the data KEK like a child's
data key, and rotated on the backup cycle (`rotate_index_key`): a backup's blind keys become
unreadable with the KEK that wrapped its index key, and a restored backup's index is rebuilt.
During a rotation two keys are live; searches blind under both, writers under the newest.
"""

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from contactpoint.retention.crypto import KEY_BYTES, key_unwrap, key_wrap

from .models import IndexKey

BLIND_BYTES = 16
LIVE_KEYS_TTL = 30.0  # seconds a process trusts its list of live keys (see rotate_index_key)


@dataclass(frozen=True)
class LiveKeys:
    keys: tuple[bytes, ...]  # newest first
    read_at: float


_live: LiveKeys | None = None


def blind(key: bytes, text: str) -> bytes:
    """HMAC-SHA-256 of the text, truncated; from a copy of an HMAC already keyed with `key`, which
    saves hashing the padded key twice per text (about 40 % of blinding a first run's keys)."""
    keyed = _keyed.get(key)
    if keyed is None:
        if len(_keyed) >= 8:  # only the live keys are used for long; others (tests) need not stay
            _keyed.clear()
        keyed = _keyed[key] = hmac.new(key, digestmod=hashlib.sha256)
    mac = keyed.copy()
    mac.update(text.encode())
    return mac.digest()[:BLIND_BYTES]


_keyed: dict[bytes, hmac.HMAC] = {}


def blinds(keys: Iterable[bytes], texts: Iterable[str]) -> list[bytes]:
    """Every text blinded under every key (a look-up's side, which must find either generation)."""
    texts = list(texts)
    return [blind(key, text) for key in keys for text in texts]


def index_keys(*, fresh: bool = False) -> tuple[bytes, ...]:
    """The live index keys, newest first, created on first use.

    Writers ask `fresh` (a query per batch) so that nothing is written under a key a rotation is
    retiring; searches reuse the list for LIVE_KEYS_TTL, which rotation waits out.
    """
    global _live
    if not fresh and _live is not None and time.monotonic() - _live.read_at < LIVE_KEYS_TTL:
        return _live.keys
    rows = list(IndexKey.objects.order_by("-pk").values_list("key_id", "wrapped", "kek_id"))
    if not rows:
        rows = [_created()]
    keys = tuple(_unwrapped(key_id, bytes(wrapped), kek_id) for key_id, wrapped, kek_id in rows)
    _live = LiveKeys(keys=keys, read_at=time.monotonic())
    return keys


def index_keys_forget() -> None:
    """Drop this process's list (after a rotation here, or between tests on a rolled-back database)."""
    global _live
    _live = None
    _keyed.clear()


_unwrapped_cache: dict[tuple[str, str], bytes] = {}


def _unwrapped(key_id: str, wrapped: bytes, kek_id: str) -> bytes:
    found = _unwrapped_cache.get((key_id, kek_id))
    if found is None:
        found = _unwrapped_cache[(key_id, kek_id)] = key_unwrap(wrapped, key_id=key_id, kek_id=kek_id)
    return found


def _created() -> tuple[str, bytes, str]:
    key_id = uuid.uuid4().hex
    wrapped, kek_id = key_wrap(secrets.token_bytes(KEY_BYTES), key_id=key_id)
    with transaction.atomic():
        IndexKey.objects.create(key_id=key_id, wrapped=wrapped, kek_id=kek_id)
    return key_id, wrapped, kek_id


def index_key_add() -> int:
    """A new newest key (the first step of a rotation); returns its pk."""
    key_id, _, _ = _created()
    index_keys_forget()
    return IndexKey.objects.get(key_id=key_id).pk


def index_keys_retire(*, older_than: int) -> int:
    """Delete the keys before `older_than` (after the index is rebuilt under it): what they
    blinded, in this database's old backups too, can no longer be tested against a dictionary."""
    deleted, _ = IndexKey.objects.filter(pk__lt=older_than).delete()
    for key_id, kek_id in list(_unwrapped_cache):
        if not IndexKey.objects.filter(key_id=key_id).exists():
            del _unwrapped_cache[(key_id, kek_id)]
    index_keys_forget()
    return deleted


def index_keys_rewrap() -> int:
    """Rewrap index keys not wrapped by the newest KEK (KEK rotation, with the data keys)."""
    from contactpoint.retention.crypto import kek_ring

    ring = kek_ring()
    done = 0
    with transaction.atomic():
        for row in IndexKey.objects.select_for_update().exclude(kek_id=ring.wrapping_id):
            plain = key_unwrap(bytes(row.wrapped), key_id=row.key_id, kek_id=row.kek_id)
            row.wrapped, row.kek_id = key_wrap(plain, key_id=row.key_id)
            row.save(update_fields=["wrapped", "kek_id"])
            done += 1
    return done
