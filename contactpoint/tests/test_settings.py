"""Production settings refuse to start without their secrets; local settings need none."""

import os
import subprocess
import sys

import pytest

IMPORT = "import django; from django.conf import settings; django.setup(); print(settings.SECRET_KEY[:4])"


def run_settings(module: str, env: dict[str, str], code: str = IMPORT) -> subprocess.CompletedProcess:
    ours = (
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "CONTACTPOINT_AUDIT_KEY",
        "CONTACTPOINT_AUDIT_KEY_FILE",
        "CONTACTPOINT_DATA_KEK",
        "CONTACTPOINT_DATA_KEK_FILE",
        "CONTACTPOINT_TOMBSTONE_KEY",
        "CONTACTPOINT_TOMBSTONE_KEY_FILE",
        "CACHE_URL",
    )
    clean = {k: v for k, v in os.environ.items() if k not in ours}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": module, **env},
        capture_output=True,
        text=True,
        check=False,
    )


SECRETS = {
    "DJANGO_SECRET_KEY": "k" * 50,
    "DATABASE_URL": "postgres://u@127.0.0.1/db",
    "CONTACTPOINT_AUDIT_KEY": "ab" * 32,
    "CONTACTPOINT_DATA_KEK": "cd" * 32,
    "CONTACTPOINT_TOMBSTONE_KEY": "ef" * 32,
    "CACHE_URL": "redis://127.0.0.1:6379/0",  # where rate limits count: no default in production
}


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_production_requires_its_secrets(missing):
    env = {name: value for name, value in SECRETS.items() if name != missing}
    result = run_settings("contactpoint.settings.production", env)
    assert result.returncode != 0
    assert f"The environment variable {missing} must be set" in result.stderr


def test_production_starts_with_its_secrets():
    result = run_settings("contactpoint.settings.production", SECRETS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "kkkk"


def test_local_settings_make_their_own_key(tmp_path):
    result = run_settings("contactpoint.settings.local", {"CONTACTPOINT_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secret_key").read_text().startswith(result.stdout.strip())


def test_a_malformed_boolean_is_an_error_not_a_guess(tmp_path):
    result = run_settings(
        "contactpoint.settings.local", {"CONTACTPOINT_DATA_DIR": str(tmp_path), "DJANGO_DEBUG": "perhaps"}
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be true or false" in result.stderr


def test_sample_env_documents_every_variable_the_settings_read():
    import re
    from pathlib import Path

    settings_dir = Path(__file__).resolve().parent.parent / "settings"
    read = set()
    for path in settings_dir.glob("*.py"):
        read |= set(re.findall(r'env_(?:str|bool|int|list)\(\s*"([A-Z_]+)"', path.read_text()))
    documented = set(
        re.findall(r"^([A-Z_]+)=", (settings_dir.parent.parent / "sample.env").read_text(), re.M)
    )
    assert read, "the settings read no variables? the pattern is wrong"
    assert read - documented == set()


PRODUCTION = SECRETS
SHOW_CACHE = (
    "import django; from django.conf import settings; django.setup(); "
    "c = settings.CACHES['default']; print(c['BACKEND'], c['LOCATION'])"
)


def test_production_counts_rate_limits_in_the_shared_cache_it_is_given():
    chosen = run_settings("contactpoint.settings.production", PRODUCTION, SHOW_CACHE)
    assert chosen.stdout.split() == [
        "contactpoint.api.cache.RedisCache",
        "redis://127.0.0.1:6379/0",
    ]
    database = run_settings(
        "contactpoint.settings.production", {**PRODUCTION, "CACHE_URL": "db://contactpoint_cache"}, SHOW_CACHE
    )
    assert database.stdout.split() == ["django.core.cache.backends.db.DatabaseCache", "contactpoint_cache"]


def test_production_refuses_a_cache_only_one_process_sees():
    result = run_settings(
        "contactpoint.settings.production", {**PRODUCTION, "CACHE_URL": "locmem://"}, SHOW_CACHE
    )
    assert result.returncode != 0
    assert "CACHE_URL locmem:// keeps counts in one process" in result.stderr


def test_local_settings_count_in_process_without_a_cache_server(tmp_path):
    result = run_settings("contactpoint.settings.local", {"CONTACTPOINT_DATA_DIR": str(tmp_path)}, SHOW_CACHE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "django.core.cache.backends.locmem.LocMemCache"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("memcached://x", "must start with one of"),
        ("cache", "must start with one of"),
        ("db://", "needs a table name"),
        ("db://drop table", "needs a table name"),
        ("file://relative/dir", "absolute path"),
    ],
)
def test_a_bad_cache_url_stops_start_up_and_says_why(url, problem):
    from django.core.exceptions import ImproperlyConfigured

    from contactpoint.settings.env import cache_from_url

    with pytest.raises(ImproperlyConfigured, match=problem):
        cache_from_url(url)
    result = run_settings("contactpoint.settings.production", {**PRODUCTION, "CACHE_URL": url}, SHOW_CACHE)
    assert result.returncode != 0 and problem in result.stderr


@pytest.mark.django_db(transaction=True)
def test_migrate_makes_the_database_cache_table_and_throttles_share_it(settings):
    from django.core.cache import caches
    from django.db import connection

    from contactpoint.api.apps import _cache_table

    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cp_test_cache"}
    }
    try:
        _cache_table(sender=None)
        assert "cp_test_cache" in connection.introspection.table_names()
        caches["default"].set("throttle_token_x", [1.0, 2.0], 60)
        assert caches["default"].get("throttle_token_x") == [1.0, 2.0]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS cp_test_cache")
