from django.core.management.base import BaseCommand

from contactpoint.signposting.services import scope_review


class Command(BaseCommand):
    help = (
        "Targeted scope: archive children no longer known to services (after the grace period) and "
        "restore archived ones known again. Does nothing in the national scope. Run daily."
    )

    def handle(self, *args, **options):
        counts = scope_review()
        self.stdout.write(f"archived {counts['archived']}, restored {counts['restored']}")
