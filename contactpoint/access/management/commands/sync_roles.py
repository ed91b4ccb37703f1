from django.core.management.base import BaseCommand

from contactpoint.access.services import roles_sync


class Command(BaseCommand):
    help = "Apply the roles declared in contactpoint/access/roles.py (idempotent)."

    def handle(self, *args, **options):
        created, updated = roles_sync()
        self.stdout.write(f"Roles in step: {created} created, {updated} updated.")
