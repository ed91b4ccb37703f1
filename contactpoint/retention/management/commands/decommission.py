import datetime
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from contactpoint.retention.decommission import NotYet, certificate_verify, decommission

CONFIRMATION = "destroy every child's data"


class Command(BaseCommand):
    help = (
        "Decommissions the index: at --at, ends all access, destroys every data key and all child "
        "data, and writes a signed certificate of destruction. --verify FILE checks a certificate."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--at", help="When access ends (ISO 8601 with a zone, e.g. 2027-03-31T18:00:00+01:00)."
        )
        parser.add_argument("--confirm", default="", help=f'Must be exactly "{CONFIRMATION}".')
        parser.add_argument("--wait", action="store_true", help="Wait until --at instead of refusing.")
        parser.add_argument("--certificate-dir", default=settings.CONTACTPOINT_CERTIFICATE_DIR)
        parser.add_argument("--verify", metavar="FILE", help="Check a certificate's signature and proof.")

    def handle(self, *args, at, confirm, wait, certificate_dir, verify, **options):
        if verify:
            problems = certificate_verify(Path(verify))
            if problems:
                raise CommandError(" ".join(problems))
            self.stdout.write(f"{verify}: signature holds; nothing identifying was readable afterwards.")
            return
        if not at:
            raise CommandError("Say when access ends with --at.")
        try:
            ends_at = datetime.datetime.fromisoformat(at)
        except ValueError:
            raise CommandError(f"--at {at!r} is not an ISO 8601 date and time.") from None
        if timezone.is_naive(ends_at):
            raise CommandError("--at needs a time zone (e.g. +00:00), so the end is unambiguous.")
        if confirm != CONFIRMATION:
            raise CommandError(f'This destroys everything. Add --confirm "{CONFIRMATION}" to go ahead.')
        if wait:
            while (remaining := (ends_at - timezone.now()).total_seconds()) > 0:
                self.stdout.write(f"Access ends in {remaining:.0f} s.")
                time.sleep(min(remaining, 60))
        try:
            path = decommission(ends_at=ends_at, certificate_dir=Path(certificate_dir))
        except NotYet as early:
            raise CommandError(str(early)) from None
        problems = certificate_verify(path)
        self.stdout.write(f"Certificate of destruction: {path}")
        if problems:
            raise CommandError(" ".join(problems))
        self.stdout.write("Verified: signature holds; nothing identifying was readable afterwards.")
