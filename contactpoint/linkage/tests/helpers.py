"""Loading small feeds through the real loader and linking them, for linkage and search tests."""

import itertools
from pathlib import Path

from contactpoint.feeds.models import SourceRecord
from contactpoint.feeds.services import feed_load, sources_sync
from contactpoint.feeds.tests.helpers import EXTRACTED, child_row, write_csv
from contactpoint.records.models import Child

_files = itertools.count(1)


def load(directory: Path, source: str, rows: list[dict[str, str]]) -> None:
    sources_sync()
    path = write_csv(directory / f"{source}-{next(_files)}.csv", rows)
    feed_load(source_code=source, path=path, extracted_at=EXTRACTED)


def person(srid: str, **values: str) -> dict[str, str]:
    return child_row(srid, **values)


def child_of(source: str, srid: str) -> Child | None:
    record = SourceRecord.objects.select_related("child").get(source__code=source, source_record_id=srid)
    return record.child


def partition() -> set[frozenset[tuple[str, str]]]:
    """Which records are together, ignoring which ID each group holds."""
    groups: dict[int, set[tuple[str, str]]] = {}
    for source, srid, child in SourceRecord.objects.values_list(
        "source__code", "source_record_id", "child_id"
    ):
        groups.setdefault(child, set()).add((source, srid))
    return {frozenset(g) for g in groups.values()}
