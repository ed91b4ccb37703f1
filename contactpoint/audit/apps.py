from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "contactpoint.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from . import admin_acts, signals  # noqa: F401 - signals connects sign-in events

        admin_acts.install()
