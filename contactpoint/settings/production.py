"""Production: every secret and the database must come from the environment; no defaults."""

from .base import *  # noqa: F403
from .env import cache_from_url, env_bool, env_int, env_str

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
DATABASES = {"default": database_from_env(DATA_DIR / "unused.sqlite3")}  # noqa: F405
env_str("DATABASE_URL")  # required in production: the embedded SQLite file is for demos only
# Rate limits must count across every process and machine: a per-process cache would multiply them.
CACHES = {"default": cache_from_url(env_str("CACHE_URL", "db://contactpoint_cache"))}
if not (CONTACTPOINT_AUDIT_KEY or CONTACTPOINT_AUDIT_KEY_FILE):  # noqa: F405
    env_str("CONTACTPOINT_AUDIT_KEY")  # required: raises, naming the variable

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
