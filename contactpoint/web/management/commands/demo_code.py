import time

from django.core.management.base import BaseCommand
from django_otp.oath import TOTP

from contactpoint.web.management.commands.demo import DEMO_TOTP_KEY_HEX


class Command(BaseCommand):
    help = "Print the demo users' current authenticator code (the demo's published key only)."
    requires_system_checks: list[str] = []

    def handle(self, *args, **options):
        totp = TOTP(bytes.fromhex(DEMO_TOTP_KEY_HEX))
        totp.time = time.time()
        self.stdout.write(f"{totp.token():06d}")
