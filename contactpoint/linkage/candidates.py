"""The candidate index: blocking keys of linked records, and finding candidates by them."""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from contactpoint.feeds.loader import bulk_insert
from contactpoint.feeds.models import SourceRecord

from .features import Features
from .frame import RECORD_FIELDS, record_features
from .model import candidate_keys
from .models import CandidateKey

CHUNK = 5000
MAX_CANDIDATE_RECORDS = 2000  # a query matching more than this is far too vague to rank


@transaction.atomic
def candidate_keys_index(*, record_ids: Iterable[int]) -> int:
    """Re-key these records (idempotent): old keys go, current linked values' keys come in."""
    ids = sorted(set(record_ids))
    written = 0
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        CandidateKey.objects.filter(record_id__in=chunk).delete()
        rows = SourceRecord.objects.filter(
            pk__in=chunk, child__isnull=False, withdrawn_at__isnull=True
        ).values(*RECORD_FIELDS, "child_id")
        keyed = [
            [row["pk"], row["child_id"], key] for row in rows for key in candidate_keys(record_features(row))
        ]
        bulk_insert(CandidateKey._meta.db_table, ["record_id", "child_id", "key"], keyed)
        written += len(keyed)
    return written


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
