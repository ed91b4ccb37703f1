from django.core.management.base import BaseCommand

from contactpoint.linkage.blind import LIVE_KEYS_TTL
from contactpoint.linkage.candidates import index_key_rotate


class Command(BaseCommand):
    help = (
        "Rotates the candidate index's blinding key: a new key, every linked record re-keyed under "
        "it, the old key deleted. Run once per backup-retention period (docs/retention.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=LIVE_KEYS_TTL,
            help="Seconds the old key stays live at least, so running searches pick up the new one.",
        )

    def handle(self, *args, wait: float, **options):
        done = index_key_rotate(wait=wait, say=self.stdout.write)
        self.stdout.write(f"Re-keyed {done} record(s) under a new index key; older index keys deleted.")
