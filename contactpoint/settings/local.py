"""The embedded default for the demo and local development: SQLite, debug on, no secrets needed.

The secret key is generated once per checkout and kept in the data directory, so sessions
survive restarts without a well-known key ever being committed.
"""

import secrets

from .base import *  # noqa: F403
from .base import DATA_DIR
from .env import env_bool, env_str

DEBUG = env_bool("DJANGO_DEBUG", True)


def _local_secret_key() -> str:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env_str("DJANGO_SECRET_KEY", "") or _local_secret_key()
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG
CONTACTPOINT_AUDIT_KEY_FILE = env_str("CONTACTPOINT_AUDIT_KEY_FILE", str(DATA_DIR / "audit_key"))
CONTACTPOINT_AUDIT_KEY_CREATE = True  # a demo makes its own key; production must be given one
CONTACTPOINT_DATA_KEK_FILE = env_str("CONTACTPOINT_DATA_KEK_FILE", str(DATA_DIR / "data_kek"))
CONTACTPOINT_DATA_KEK_CREATE = True
CONTACTPOINT_TOMBSTONE_KEY_FILE = env_str("CONTACTPOINT_TOMBSTONE_KEY_FILE", str(DATA_DIR / "tombstone_key"))
CONTACTPOINT_TOMBSTONE_KEY_CREATE = True
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}  # the demo prints mail
