"""The database cache's table (rate limits, failed sign-in counters) costs no WAL flush per call."""

import pytest
from django.db import connection
from django.test import override_settings

from contactpoint.api.apps import _cache_table

CACHE = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cp_cache_probe"}}


def _persistence(table: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relpersistence FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row[0] if row else None


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="UNLOGGED is PostgreSQL's")
def test_migrate_makes_the_cache_table_unlogged():
    with override_settings(CACHES=CACHE):
        _cache_table(sender=None, using="default")
        assert _persistence("cp_cache_probe") == "u"
        _cache_table(sender=None, using="default")  # a later migrate leaves it as it is
        assert _persistence("cp_cache_probe") == "u"


@pytest.mark.django_db
def test_other_caches_create_no_table():
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        _cache_table(sender=None, using="default")
    assert "cp_cache_probe" not in connection.introspection.table_names()


@pytest.mark.django_db
def test_migrate_signals_this_app_so_the_table_is_made():
    from django.core.management.sql import emit_post_migrate_signal

    with override_settings(CACHES=CACHE):
        emit_post_migrate_signal(verbosity=0, interactive=False, db="default")
    assert "cp_cache_probe" in connection.introspection.table_names()
