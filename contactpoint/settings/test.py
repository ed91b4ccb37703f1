"""Tests: the same settings as local, with a fast password hasher and a fixed key."""

from .base import *  # noqa: F403

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_AUTOREFRESH = True  # no collectstatic before tests
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
CONTACTPOINT_AUDIT_KEY = "00" * 31 + "01"  # tests only
CONTACTPOINT_DATA_KEK = "00" * 31 + "02"  # tests only
CONTACTPOINT_TOMBSTONE_KEY = "00" * 31 + "03"  # tests only
