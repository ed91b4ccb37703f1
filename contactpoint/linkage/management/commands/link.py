"""`contactpoint link`: link every loaded source record not yet linked (interfaces.md)."""

from django.core.management.base import BaseCommand

from contactpoint.linkage.services import link_run


class Command(BaseCommand):
    help = "Links new and changed source records into children; the first run (or --full) links everything."

    def add_arguments(self, parser):
        parser.add_argument(
            "--full", action="store_true", help="Re-link every record (periodic reconciliation)."
        )

    def handle(self, *args, full: bool, **options):
        run = link_run(full=full, say=self.stdout.write)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()))
        self.stdout.write(f"{run.get_kind_display()} run {run.pk} with model {run.model_version}: {counts}")
