from django.core.management.base import BaseCommand

from contactpoint.audit.services import chain_seal


class Command(BaseCommand):
    help = "Seal settled audit events into the hash chain and sign the new head (run every minute)."

    def add_arguments(self, parser):
        parser.add_argument("--grace-seconds", type=float, default=5.0)

    def handle(self, *args, grace_seconds, **options):
        import datetime

        total = 0
        while sealed := chain_seal(grace=datetime.timedelta(seconds=grace_seconds)):
            total += sealed
        self.stdout.write(f"Sealed {total} events.")
