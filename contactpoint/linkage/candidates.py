"""The candidate index: blocking keys of linked records, and finding candidates by them."""

from collections import defaultdict
from collections.abc import Iterable

from contactpoint.feeds.loader import bulk_insert
from contactpoint.feeds.models import SourceRecord

from .features import Features
from .frame import RECORD_FIELDS, record_features
from .model import candidate_keys
from .models import CandidateKey

MAX_CANDIDATE_RECORDS = 2000  # a query matching more than this is far too vague to rank


def candidate_keys_write(*, rows: list[dict], replace: bool) -> int:
    """Key records whose values the caller has just read; `replace=False` when they have no keys yet."""
    if replace:
        CandidateKey.objects.filter(record_id__in=[row["pk"] for row in rows]).delete()
    keyed = [
        [row["pk"], row["child_id"], key]
        for row in rows
        if row["child_id"] is not None and row["withdrawn_at"] is None
        for key in candidate_keys(record_features({name: row[name] for name in RECORD_FIELDS}))
    ]
    bulk_insert(CandidateKey._meta.db_table, ["record_id", "child_id", "key"], keyed)
    return len(keyed)


def candidates_by_child(
    keys: Iterable[str], *, limit: int = MAX_CANDIDATE_RECORDS, exclude_record: int | None = None
) -> dict[int, list[Features]]:
    """Features of every linked record sharing a key, grouped by child (at most `limit` records)."""
    found = CandidateKey.objects.filter(key__in=sorted(set(keys)))
    if exclude_record is not None:
        found = found.exclude(record_id=exclude_record)
    record_ids = list(found.values_list("record_id", flat=True).distinct()[:limit])
    return _features_by_child(pk__in=record_ids)


def records_of_children(child_ids: Iterable[int]) -> dict[int, list[Features]]:
    """Features of every live record of these children (a search by identifier or ContactPoint ID)."""
    return _features_by_child(child_id__in=list(child_ids))


def _features_by_child(**which) -> dict[int, list[Features]]:
    by_child: dict[int, list[Features]] = defaultdict(list)
    rows = SourceRecord.objects.filter(withdrawn_at__isnull=True, **which).values(*RECORD_FIELDS, "child_id")
    for row in rows:
        if row["child_id"] is not None:
            by_child[row["child_id"]].append(record_features(row))
    return by_child
