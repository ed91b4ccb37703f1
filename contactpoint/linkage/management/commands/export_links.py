"""`contactpoint export_links FILE`: which child every loaded source record belongs to."""

import csv
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.linkage.selectors import links_export_rows


class Command(BaseCommand):
    help = "Writes source,source_record_id,child_id for every loaded source record (audited)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--by", default="", help="The data manager running the export (for the audit log)."
        )

    def handle(self, *args, file: Path, by: str, **options):
        if not file.parent.is_dir():
            raise CommandError(f"The folder {file.parent} does not exist.")
        # Written beside the target and renamed into place in the transaction that records the
        # export: if the event cannot be written, no file is handed on (no audit, no data).
        try:
            handle, partial = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".part")
        except OSError as error:
            raise CommandError(f"Cannot write {file}: {error}") from error
        try:
            with transaction.atomic():
                with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
                    writer = csv.writer(stream)
                    writer.writerow(["source", "source_record_id", "child_id"])
                    count = 0
                    for row in links_export_rows():
                        writer.writerow(row)
                        count += 1
                audit_record(
                    event_type=EventType.EXPORT,
                    username=by or "command line",
                    details={"export": "links", "rows": count, "file": file.name},
                )
                os.replace(partial, file)
        except OSError as error:
            raise CommandError(f"Cannot write {file}: {error}") from error
        finally:
            Path(partial).unlink(missing_ok=True)
        self.stdout.write(f"Wrote {count} links to {file}")
