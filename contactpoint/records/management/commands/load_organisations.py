import csv
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contactpoint.records.services import organisations_load


class Command(BaseCommand):
    help = (
        "Load an organisations register "
        "(CSV: kind, code, name, local_authority_code, phone, email, town, postcode)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        try:
            with file.open(newline="", encoding="utf-8-sig") as handle:
                created, updated = organisations_load(rows=list(csv.DictReader(handle)))
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from exc
        except (KeyError, ValidationError) as exc:
            raise CommandError(f"{file.name} is not a valid organisations register: {exc}") from exc
        self.stdout.write(f"Organisations: {created} created, {updated} updated.")
