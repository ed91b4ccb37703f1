"""The audit keyring, kept outside the database: its newest key signs events and checkpoints,
and every key it holds still verifies what it signed.

Production sets CONTACTPOINT_AUDIT_KEY (hex keys, comma-separated, oldest first) or
CONTACTPOINT_AUDIT_KEY_FILE (one hex key per line, oldest first; blank lines and # comments are
ignored); local settings keep a generated key file in the data directory. Whoever can rewrite
the database cannot forge a signature. A key's id is a digest of the key, so the id recorded with
an event or checkpoint names the key without revealing it. To rotate, append a new key and
restart; never remove a key while the log holds anything it signed (docs/audit.md).
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver


class UnknownKey(LookupError):
    """An event or checkpoint names a key the keyring does not hold."""


@dataclass(frozen=True)
class Keyring:
    keys: dict[str, bytes]  # id -> key, oldest first
    signing_id: str
    oldest_id: str

    def key(self, key_id: str) -> bytes:
        """The key with this id; an empty id (events written before the keyring) means the oldest."""
        try:
            return self.keys[key_id or self.oldest_id]
        except KeyError:
            raise UnknownKey(key_id) from None


def key_id_of(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:12]


def parse_keys(text: str, *, where: str) -> list[bytes]:
    keys = []
    for number, line in enumerate(text.replace(",", "\n").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            key = bytes.fromhex(line)
        except ValueError:
            raise ImproperlyConfigured(f"{where}: entry {number} is not a hex key.") from None
        if len(key) < 32:
            raise ImproperlyConfigured(
                f"{where}: entry {number} is shorter than 32 bytes (64 hex characters)."
            )
        keys.append(key)
    if not keys:
        raise ImproperlyConfigured(f"{where} holds no key.")
    return keys


def configured_keys(setting: str, *, what: str) -> list[bytes]:
    """Keys from the setting `setting` itself, or from the file named by `setting`_FILE (created
    with one new key when `setting`_CREATE allows: local settings only)."""
    configured = getattr(settings, setting, "")
    if configured:
        return parse_keys(configured, where=setting)
    path = getattr(settings, f"{setting}_FILE", "")
    if not path:
        raise ImproperlyConfigured(f"Set {setting} or {setting}_FILE.")
    key_file = Path(path)
    if not key_file.exists():
        if not getattr(settings, f"{setting}_CREATE", False):
            raise ImproperlyConfigured(f"The {what} file {key_file} does not exist.")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(new_key_hex() + "\n")
        key_file.chmod(0o600)
    return parse_keys(key_file.read_text(), where=str(key_file))


def new_key_hex() -> str:
    return secrets.token_hex(32)


@cache
def keyring() -> Keyring:
    keys = configured_keys("CONTACTPOINT_AUDIT_KEY", what="audit key")
    ids = {key_id_of(key): key for key in keys}
    return Keyring(keys=ids, signing_id=key_id_of(keys[-1]), oldest_id=key_id_of(keys[0]))


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs):
    if setting.startswith("CONTACTPOINT_AUDIT_KEY"):
        keyring.cache_clear()


def key_id() -> str:
    """The id of the key that signs now."""
    return keyring().signing_id


def sign(message: bytes) -> str:
    """A signature with the current (newest) key; store key_id() beside it."""
    return signed_by(key_id(), message)


def signed_by(key_id: str, message: bytes) -> str:
    """The signature the key named by `key_id` gives (empty id: the keyring's oldest key)."""
    return hmac.new(keyring().key(key_id), message, hashlib.sha256).hexdigest()
