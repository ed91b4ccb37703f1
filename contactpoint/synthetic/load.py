"""Load a synthetic population for the demo, through the real feed path.

Files go through the feed loader exactly as a source's would, then through real linkage (the
shipped match model). `link_by_ground_truth` stands in for linkage where a test needs every
record in its true child regardless of the model (only a synthetic population has the truth).
"""

import csv
import datetime
import json
from collections.abc import Callable
from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from contactpoint.feeds.models import SourceRecord
from contactpoint.feeds.services import feed_load, sources_sync
from contactpoint.linkage.services import link_run
from contactpoint.records import services
from contactpoint.records.models import Child

BATCH = 2000


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_population(directory: Path, say: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Returns counts of what was created. Refuses to load twice into the same database."""
    if Child.objects.exists():
        raise ValueError("The index already holds children; the demo loader only fills an empty one.")
    manifest = json.loads((directory / "manifest.json").read_text())
    sources_sync()
    services.organisations_load(rows=_rows(directory / "organisations.csv"))
    for source, extracted in manifest["extracted_at"].items():
        when = timezone.make_aware(datetime.datetime.fromisoformat(extracted))
        report = feed_load(source_code=source, path=directory / f"{source}.csv", extracted_at=when).report
        say(f"  {source}: {report['loaded']} loaded, {report['quarantined']} quarantined")
    run = link_run(say=say)
    counts = dict(run.counts)
    for delivery in manifest.get("follow_up", []):  # a later delivery: cases closed since
        when = timezone.make_aware(datetime.datetime.fromisoformat(delivery["extracted_at"]))
        path = directory / delivery["file"]
        report = feed_load(source_code=delivery["source"], path=path, extracted_at=when).report
        say(f"  {delivery['source']} (follow-up, cases closed): {report['loaded']} loaded")
        counts["follow_up_records"] = counts.get("follow_up_records", 0) + report["loaded"]
        link_run(say=say)
    counts["Child"] = Child.objects.filter(merged_into__isnull=True).count()
    return counts


@transaction.atomic
def link_by_ground_truth(directory: Path) -> int:
    """Attach each loaded record to the child for its true person (demo and tests only)."""
    truth = {(r["source"], r["source_record_id"]): r["person_id"] for r in _rows(directory / "truth.csv")}
    records = list(
        SourceRecord.objects.filter(child__isnull=True).values_list("pk", "source__code", "source_record_id")
    )
    people = sorted({truth[(source, srid)] for _, source, srid in records}, key=int)
    ordered = services.contactpoint_ids_issue(count=len(people))
    Child.objects.bulk_create([Child(contactpoint_id=v) for v in ordered], batch_size=BATCH)
    child_of = dict(
        zip(
            people,
            Child.objects.filter(contactpoint_id__in=ordered)
            .order_by("contactpoint_id")
            .values_list("pk", flat=True),
            strict=True,
        )
    )
    updates = [(child_of[truth[(source, srid)]], pk) for pk, source, srid in records]
    with connection.cursor() as cursor:
        cursor.executemany("UPDATE feeds_sourcerecord SET child_id = %s WHERE id = %s", updates)
    return len(updates)
