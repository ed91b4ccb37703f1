"""Production: every secret and the database must come from the environment; no defaults."""

from .base import *  # noqa: F403
from .env import env_bool, env_int, env_str, shared_cache_from_url

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
DATABASES = {"default": database_from_env(DATA_DIR / "unused.sqlite3")}  # noqa: F405
env_str("DATABASE_URL")  # required in production: the embedded SQLite file is for demos only
# Rate limits must count across every process and machine: a per-process cache would multiply
# them, so production is told which shared cache to use (Redis; ADR 0017) and refuses locmem://.
CACHES = {"default": shared_cache_from_url(env_str("CACHE_URL"))}
# Keys kept outside the database, each given itself or as a file: required (raises, naming it).
if not (CONTACTPOINT_AUDIT_KEY or CONTACTPOINT_AUDIT_KEY_FILE):  # noqa: F405
    env_str("CONTACTPOINT_AUDIT_KEY")
if not (CONTACTPOINT_DATA_KEK or CONTACTPOINT_DATA_KEK_FILE):  # noqa: F405
    env_str("CONTACTPOINT_DATA_KEK")  # without it destroyed children's keys could not be shredded
if not (CONTACTPOINT_TOMBSTONE_KEY or CONTACTPOINT_TOMBSTONE_KEY_FILE):  # noqa: F405
    env_str("CONTACTPOINT_TOMBSTONE_KEY")  # without it a feed could bring a destroyed child back

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
