import datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from contactpoint.feeds.formats import FORMATS, UnreadableFile
from contactpoint.feeds.reports import report_lines
from contactpoint.feeds.services import feed_load, sources_sync
from contactpoint.records.models import Source


class Command(BaseCommand):
    help = "Validate and load a feed file; prints loaded and quarantined counts."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, help="The registered source's code.")
        parser.add_argument("--format", choices=sorted(FORMATS), help="Default: from the file's extension.")
        parser.add_argument(
            "--extracted-at",
            type=datetime.datetime.fromisoformat,
            help="When the source extracted the file (ISO 8601); default: now.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            help="Worker processes (0: all in this process). Default: CONTACTPOINT_FEED_WORKERS "
            "for files over 8 MB, none for smaller ones.",
        )

    def handle(self, *args, file, source, format, extracted_at, workers, **options):
        if not Source.objects.exists():
            sources_sync()
        if not Source.objects.filter(code=source).exists():
            known = ", ".join(Source.objects.order_by("code").values_list("code", flat=True))
            raise CommandError(f"Unknown source {source!r}. Registered sources: {known}.")
        if not file.is_file():
            raise CommandError(f"Cannot read {file}: no such file.")
        with tqdm(unit="row", disable=options["verbosity"] < 1, desc=file.name) as bar:
            try:
                result = feed_load(
                    source_code=source,
                    path=file,
                    format_name=format,
                    extracted_at=extracted_at,
                    progress=bar.update,
                    workers=workers,
                )
            except UnreadableFile as exc:
                raise CommandError(str(exc)) from exc
        if result.already_loaded:
            self.stdout.write(f"{file.name} was already loaded from {source}; nothing changed.")
        for line in report_lines(result.report):
            self.stdout.write(line)
