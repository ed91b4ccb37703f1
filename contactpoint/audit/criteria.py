"""Search criteria in the log are sealed under a key per year, so they can be destroyed.

Domain.md section 6 wants every search logged with its parameters, and misuse detection needs
them (a search for one's own surname). But the parameters are what a user typed: a child's name,
a birth date, a postcode. The log itself outlives the children's records and is never rewritten,
so the criteria are sealed (AES-256-GCM, bound to the event's uid) under the year's key
(`CriteriaKey`, wrapped by the data key-encryption key). Once a year's criteria are past
`CONTACTPOINT_AUDIT_CRITERIA_YEARS`, or at decommissioning, the key is deleted: the events, their
MACs and the chain cover the sealed bytes and still verify; the names are gone, backups included.
The event keeps which fields were used, in clear, for reports that need no more.
"""

import base64
import datetime
import json
import os
import secrets
import uuid
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .models import CriteriaKey

NONCE_BYTES = 12


def period_of(moment: datetime.datetime) -> str:
    return str(moment.year)


def criteria_seal(criteria: dict[str, Any], *, uid: uuid.UUID, moment: datetime.datetime) -> dict[str, Any]:
    """What the event stores in place of the criteria."""
    key_id, aead = _sealing_key(period_of(moment))
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + aead.encrypt(nonce, json.dumps(criteria, sort_keys=True).encode(), str(uid).encode())
    return {"fields": sorted(criteria), "key": key_id, "sealed": base64.b64encode(blob).decode()}


def criteria_open(
    details: dict[str, Any], *, uid: uuid.UUID | str, keys: dict[str, AESGCM | None] | None = None
) -> dict[str, Any] | None:
    """The criteria as typed; None once their key is destroyed. Events written before sealing hold
    the criteria in clear and are returned as they are. A caller opening many events passes the
    same `keys` dict, so each year's key is read and unwrapped once."""
    stored = details.get("criteria")
    if not isinstance(stored, dict):
        return None
    if "sealed" not in stored:
        return stored
    keys = {} if keys is None else keys
    key_id = str(stored.get("key", ""))
    if key_id not in keys:
        row = CriteriaKey.objects.filter(key_id=key_id).first()
        keys[key_id] = AESGCM(_unwrapped(row)) if row else None
    aead = keys[key_id]
    if aead is None:
        return None
    blob = base64.b64decode(stored["sealed"])
    return json.loads(aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], str(uid).encode()))


def criteria_keys_expire(*, today: datetime.date) -> list[str]:
    """Delete the keys of years whose criteria are past their retention; returns the years."""
    last_kept = today.year - settings.CONTACTPOINT_AUDIT_CRITERIA_YEARS
    expired = [p for p in CriteriaKey.objects.values_list("period", flat=True) if int(p) < last_kept]
    CriteriaKey.objects.filter(period__in=expired).delete()
    _KEYS.clear()
    return sorted(expired)


def criteria_keys_destroy() -> int:
    """Decommissioning: every year's criteria become unreadable."""
    deleted = CriteriaKey.objects.all().delete()[0]
    _KEYS.clear()
    return deleted


def criteria_keys_rewrap() -> int:
    """Rotation of the key-encryption key, as for children's data keys."""
    from contactpoint.retention.crypto import kek_ring, key_unwrap, key_wrap

    done = 0
    for row in CriteriaKey.objects.exclude(kek_id=kek_ring().wrapping_id):
        plain = key_unwrap(bytes(row.wrapped), key_id=row.key_id, kek_id=row.kek_id)
        row.wrapped, row.kek_id = key_wrap(plain, key_id=row.key_id)
        row.save(update_fields=["wrapped", "kek_id"])
        done += 1
    return done


_KEYS: dict[str, tuple[str, AESGCM]] = {}


def _sealing_key(period: str) -> tuple[str, AESGCM]:
    """Kept per process once committed, so a search pays no key read and no unwrap; never before
    (a key made in a transaction that rolls back does not exist, and nothing may be sealed under it)."""
    if period in _KEYS:
        return _KEYS[period]
    row = CriteriaKey.objects.filter(period=period).first() or _created(period)
    found = (row.key_id, AESGCM(_unwrapped(row)))
    transaction.on_commit(lambda: _KEYS.setdefault(period, found))
    return found


@receiver(post_migrate)
def _forget_keys(**kwargs: Any) -> None:
    """A flushed or re-created database has no keys: those kept here would seal under nothing."""
    _KEYS.clear()


def _created(period: str) -> CriteriaKey:
    from contactpoint.retention.crypto import key_wrap

    key_id = uuid.uuid4().hex
    wrapped, kek_id = key_wrap(secrets.token_bytes(32), key_id=key_id)
    try:
        with transaction.atomic():
            return CriteriaKey.objects.create(period=period, key_id=key_id, wrapped=wrapped, kek_id=kek_id)
    except IntegrityError:  # another process made this year's key first
        return CriteriaKey.objects.get(period=period)


def _unwrapped(row: CriteriaKey) -> bytes:
    from contactpoint.retention.crypto import key_unwrap

    return key_unwrap(bytes(row.wrapped), key_id=row.key_id, kek_id=row.kek_id)
