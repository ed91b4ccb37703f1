"""Train the match model from the loaded source records and a labelled sample."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contactpoint.feeds.models import SourceRecord
from contactpoint.linkage.frame import RECORD_FIELDS, frame
from contactpoint.linkage.scoring import ARTIFACTS
from contactpoint.linkage.training import model_train
from contactpoint.records import sealed


class Command(BaseCommand):
    help = (
        "Trains the match model on the loaded source records, labelled by LABELS "
        "(source,source_record_id,person_id), and writes artifacts/model-MODEL_VERSION.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("labels", type=Path)
        parser.add_argument("--model-version", dest="model_version", required=True)
        parser.add_argument("--out", type=Path, default=None)

    def handle(self, *args, labels: Path, model_version: str, out: Path | None, **options):
        try:
            with labels.open(newline="", encoding="utf-8") as handle:
                person = {
                    (r["source"], r["source_record_id"]): r["person_id"] for r in csv.DictReader(handle)
                }
        except (OSError, KeyError) as error:
            raise CommandError(f"Cannot read labels from {labels}: {error}") from error
        rows = [
            r
            for r in sealed.values_iterated(
                SourceRecord.objects.filter(withdrawn_at__isnull=True), *RECORD_FIELDS, "source_record_id"
            )
            if (r["source__code"], r["source_record_id"]) in person
        ]
        if not rows:
            raise CommandError(
                "None of the loaded source records is labelled; load the sample's feeds first."
            )
        records = frame(rows)
        records["label"] = [person[(r["source__code"], r["source_record_id"])] for r in rows]
        path = out or ARTIFACTS / f"model-{model_version}.json"
        document = model_train(records=records, label_column="label", version=model_version, out=path)
        self.stdout.write(f"Wrote {path}: {len(rows)} records, thresholds {document['thresholds']}")
