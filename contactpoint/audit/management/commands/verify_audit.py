import time

from django.core.management.base import BaseCommand, CommandError

from contactpoint.audit.verify import verify_log


class Command(BaseCommand):
    help = "Check the whole audit log; exits non-zero naming the first bad entry."

    def add_arguments(self, parser):
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="Processes checking segments between signed checkpoints in parallel (one per core).",
        )

    def handle(self, *args, workers, **options):
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        started = time.perf_counter()
        verdict = verify_log(workers=workers)
        elapsed = time.perf_counter() - started
        if not verdict.intact:
            raise CommandError(f"The audit log is NOT intact. First bad entry: {verdict.problems[0]}")
        self.stdout.write(
            f"The audit log is intact: {verdict.events_checked} events checked in {elapsed:.1f}s "
            f"({verdict.pending} not yet sealed into the chain)."
        )
