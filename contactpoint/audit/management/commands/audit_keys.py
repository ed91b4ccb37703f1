from django.core.management.base import BaseCommand

from contactpoint.audit.keys import keyring, new_key_hex


class Command(BaseCommand):
    help = (
        "List the audit keyring's key ids (never the keys), oldest first; --new prints a fresh key "
        "to append to the keyring (then restart every process)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--new", action="store_true", help="Print a new random key (64 hex characters).")

    def handle(self, *args, new, **options):
        ring = keyring()
        for key_id in ring.keys:
            self.stdout.write(
                f"{key_id} (signs)" if key_id == ring.signing_id else f"{key_id} (verifies only)"
            )
        if new:
            self.stdout.write("Append this line to the keyring, keeping every older key:")
            self.stdout.write(new_key_hex())
