import time

from django.core.management.base import BaseCommand

from contactpoint.notifications.services import notifications_dispatch


class Command(BaseCommand):
    help = (
        "Fan out events not yet fanned out and send deliveries that are due, including retries and "
        "deliveries a stopped worker left claimed. Schedule every minute, or run with --loop."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep running, every --interval seconds.")
        parser.add_argument("--interval", type=float, default=10.0)

    def handle(self, *args, **options):
        while True:
            counts = notifications_dispatch()
            if any(counts.values()) or not options["loop"]:
                self.stdout.write(", ".join(f"{k} {v}" for k, v in counts.items()))
            if not options["loop"]:
                return
            time.sleep(options["interval"])
