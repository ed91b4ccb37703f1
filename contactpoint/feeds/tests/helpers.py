"""Writing small feed files and taking comparable snapshots of what a load stored."""

import csv
import datetime
import json
from pathlib import Path
from types import SimpleNamespace

from django.db.models import BinaryField
from django.utils import timezone

from contactpoint.feeds import columns
from contactpoint.feeds.models import (
    DataQualityWarning,
    FeedFile,
    QuarantinedRow,
    SourceRecord,
    SourceRecordVersion,
)
from contactpoint.feeds.sealed import row_open
from contactpoint.records import sealed

EXTRACTED = timezone.make_aware(datetime.datetime(2026, 10, 1, 6, 0))
HEADER = columns.CANONICAL


def child_row(srid: str, **values: str) -> dict[str, str]:
    row = dict.fromkeys(HEADER, "")
    row.update(
        source_record_id=srid,
        given_name="Amelia",
        family_name="Khan",
        date_of_birth="2015-03-14",
        gender="female",
        address_line_1="12 Oak Road",
        town="Leeds",
        postcode="LS6 2AB",
    )
    row.update(values)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], header: tuple[str, ...] | None = None) -> Path:
    header = header or tuple(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def values_list(query, *fields: str) -> list[tuple]:
    """`query.values_list(*fields)`, sealed fields opened (records.sealed)."""
    return [tuple(row[f] for f in fields) for row in sealed.values_opened(query, *fields)]


def opened(query) -> list[SimpleNamespace]:
    """The feed rows of `query` with every field, sealed ones opened, as attributes."""
    model = query.model
    fields = [
        f.attname for f in model._meta.concrete_fields if not isinstance(f, BinaryField)
    ]  # not the blob
    extra = ("source__code", "first_file__name", "last_file__name") if model is SourceRecord else ()
    rows = sealed.values_opened(query.order_by("pk"), *fields, *extra, *model.SEALED)
    return [SimpleNamespace(**row) for row in rows]


def opened_one(query=None, **filters) -> SimpleNamespace:
    (found,) = opened((query if query is not None else SourceRecord.objects.all()).filter(**filters))
    return found


def snapshot() -> dict[str, list]:
    """Everything a load stores, keyed by natural keys (ids and wall-clock times excluded)."""
    records = sorted(
        values_list(
            SourceRecord.objects.all(),
            "source__code",
            "source_record_id",
            "given_name",
            "middle_names",
            "family_name",
            "former_family_name",
            "date_of_birth",
            "gender",
            "address_line_1",
            "town",
            "postcode",
            "nhs_number",
            "upn",
            "retention_consent",
            "extras",
            "content_hash",
            "asserted_at",
            "first_file__sha256",
            "last_file__sha256",
            "withdrawn_at",
            "needs_linking",
        ),
        key=lambda r: (r[0], r[1]),
    )
    versions = sorted(
        SourceRecordVersion.objects.values_list(
            "record__source_record_id", "content_hash", "file__sha256", "superseded_by_file__sha256"
        )
    )
    quarantined = sorted(
        (
            row.file.sha256,
            row.row_number,
            row.source_record_id,
            json.dumps(row_open(row)["values"], sort_keys=True),
            json.dumps(row.reasons),
            row.status,
        )
        for row in QuarantinedRow.objects.select_related("file")
    )
    warnings = sorted(
        DataQualityWarning.objects.values_list(
            "file__sha256", "row_number", "source_record_id", "column", "kind"
        )
    )
    files = sorted(
        (sha, status, done, json.dumps(report, sort_keys=True))
        for sha, status, done, report in FeedFile.objects.values_list(
            "sha256", "status", "rows_done", "report"
        )
    )
    return {
        "records": records,
        "versions": versions,
        "quarantined": quarantined,
        "warnings": warnings,
        "files": files,
    }
