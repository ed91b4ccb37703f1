from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _cache_table(sender, using="default", verbosity=1, **kwargs):
    """A database cache (CACHE_URL=db://TABLE, where a deployment has no Redis) needs its table: `migrate`
    makes it, so a deployment cannot forget the separate `createcachetable` step."""
    from django.conf import settings
    from django.core.management import call_command

    if any(c["BACKEND"].endswith("DatabaseCache") for c in settings.CACHES.values()):
        call_command("createcachetable", database=using, verbosity=0)
        _unlogged(using)


def _unlogged(using: str) -> None:
    """On PostgreSQL the cache table is UNLOGGED: every API call updates its rate-limit entry, and
    a logged table made that a second WAL flush per request. A crash empties an unlogged table,
    which costs nothing here: rate-limit windows and failed sign-in counts start again."""
    from django.conf import settings
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    tables = {c["LOCATION"] for c in settings.CACHES.values() if c["BACKEND"].endswith("DatabaseCache")}
    with connection.cursor() as cursor:
        for table in sorted(tables):
            cursor.execute("SELECT relpersistence FROM pg_class WHERE oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
            if row and row[0] == "p":
                cursor.execute(f"ALTER TABLE {connection.ops.quote_name(table)} SET UNLOGGED")


class ApiConfig(AppConfig):
    name = "contactpoint.api"
    label = "api"
    verbose_name = "REST and FHIR API"

    def ready(self) -> None:
        post_migrate.connect(_cache_table, sender=self)
