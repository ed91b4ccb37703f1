from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _cache_table(sender, using="default", verbosity=1, **kwargs):
    """A database cache (CACHE_URL=db://TABLE, production's default) needs its table: `migrate`
    makes it, so a deployment cannot forget the separate `createcachetable` step."""
    from django.conf import settings
    from django.core.management import call_command

    if any(c["BACKEND"].endswith("DatabaseCache") for c in settings.CACHES.values()):
        call_command("createcachetable", database=using, verbosity=0)


class ApiConfig(AppConfig):
    name = "contactpoint.api"
    label = "api"
    verbose_name = "REST and FHIR API"

    def ready(self) -> None:
        post_migrate.connect(_cache_table, sender=self)
