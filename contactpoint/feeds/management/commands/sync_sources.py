from django.core.management.base import BaseCommand

from contactpoint.feeds.services import sources_sync


class Command(BaseCommand):
    help = "Apply the sources declared in contactpoint/feeds/sources.py (idempotent)."

    def handle(self, *args, **options):
        created, updated = sources_sync()
        if options["verbosity"] > 0:
            self.stdout.write(f"Sources in step: {created} created, {updated} updated.")
