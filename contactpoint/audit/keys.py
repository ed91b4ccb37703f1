"""The audit key, kept outside the database: it signs events and checkpoints.

Production sets CONTACTPOINT_AUDIT_KEY (hex) or CONTACTPOINT_AUDIT_KEY_FILE; local settings keep a
generated key file in the data directory. Whoever can rewrite the database cannot forge either.
"""

import hashlib
import hmac
import secrets
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@cache
def audit_key() -> bytes:
    configured = getattr(settings, "CONTACTPOINT_AUDIT_KEY", "")
    if configured:
        return bytes.fromhex(configured)
    path = getattr(settings, "CONTACTPOINT_AUDIT_KEY_FILE", "")
    if not path:
        raise ImproperlyConfigured("Set CONTACTPOINT_AUDIT_KEY or CONTACTPOINT_AUDIT_KEY_FILE.")
    key_file = Path(path)
    if not key_file.exists():
        if not getattr(settings, "CONTACTPOINT_AUDIT_KEY_CREATE", False):
            raise ImproperlyConfigured(f"The audit key file {key_file} does not exist.")
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return bytes.fromhex(key_file.read_text().strip())


def key_id() -> str:
    return hashlib.sha256(audit_key()).hexdigest()[:12]


def sign(message: bytes) -> str:
    return hmac.new(audit_key(), message, hashlib.sha256).hexdigest()
