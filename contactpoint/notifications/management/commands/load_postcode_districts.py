import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contactpoint.notifications.services import postcode_districts_load


class Command(BaseCommand):
    help = "Load which local authority each postcode district lies in (CSV: district,local_authority_code)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        try:
            with options["file"].open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from exc
        try:
            loaded = postcode_districts_load(rows=rows)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Loaded {loaded} postcode districts.")
