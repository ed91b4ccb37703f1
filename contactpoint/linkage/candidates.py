"""The candidate index: blocking keys of linked records, and finding candidates by them.

Two ways in, both answered by database indexes: the blocking keys (exact and phonetic, computed
here in Python so that every database holds the same `CandidateKey` rows), and a family name
spelled so differently that its sound changed, within a birth date (a trigram index on
PostgreSQL, migration linkage 0002; a birth-date index and the same trigram measure in Python on
SQLite, where the demo's volumes make that cheap).
"""

import datetime
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache

from django.db import connection
from django.db.models.expressions import RawSQL

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


TRIGRAM_THRESHOLD = 0.3  # pg_trgm's default `similarity_threshold`, which the `%` operator uses


def candidates_by_child(
    keys: Iterable[str],
    *,
    limit: int = MAX_CANDIDATE_RECORDS,
    exclude_record: int | None = None,
    similar_family: tuple[str, Sequence[datetime.date]] | None = None,
) -> dict[int, list[Features]]:
    """Features of every linked record sharing a key, grouped by child (at most `limit` records).

    `similar_family` (a family name as typed, and birth dates) adds the linked records born on one
    of those dates whose family name is trigram-similar to it: a typo that changed the name's
    sound (and so its phonetic key) still finds the child when the birth date is right.
    """
    keys = sorted(set(keys))
    family, dates = similar_family if similar_family else ("", ())
    if family.strip() and dates and connection.vendor == "postgresql":
        return _features_by_child(pk__in=_keyed_or_similar(keys, family, dates, limit, exclude_record))
    found = CandidateKey.objects.filter(key__in=keys)
    if exclude_record is not None:
        found = found.exclude(record_id=exclude_record)
    record_ids = list(found.values_list("record_id", flat=True).distinct()[:limit])
    if family.strip() and dates:
        record_ids = list(dict.fromkeys([*record_ids, *_similar_family_scan(family, dates)]))[:limit]
    return _features_by_child(pk__in=record_ids)


def _keyed_or_similar(
    keys: list[str], family: str, dates: Sequence[datetime.date], limit: int, exclude_record: int | None
) -> RawSQL:
    """One statement for both ways in, so a search pays one round trip for its candidates.

    The second branch is answered by the GIN index `sourcerecord_dob_family_trgm` (btree_gin for
    the date, pg_trgm for the name); see docs/benchmarks.md for its plan at a million children.
    """
    return RawSQL(
        "SELECT record_id FROM linkage_candidatekey WHERE key = ANY(%s) AND record_id <> %s"
        " UNION SELECT id FROM feeds_sourcerecord WHERE date_of_birth = ANY(%s)"
        " AND upper(family_name) %% %s AND child_id IS NOT NULL AND id <> %s LIMIT %s",
        [keys, exclude_record or 0, list(dates), family.upper(), exclude_record or 0, limit],
    )


def _similar_family_scan(family: str, dates: Sequence[datetime.date]) -> list[int]:
    """The same question without pg_trgm: the birth-date index, then the trigram measure here."""
    rows = SourceRecord.objects.filter(
        date_of_birth__in=list(dates), child__isnull=False, withdrawn_at__isnull=True
    ).values_list("pk", "family_name")
    return [pk for pk, name in rows if trigram_similarity(name, family) >= TRIGRAM_THRESHOLD]


_WORDS = re.compile(r"[^\W_]+")


@lru_cache(maxsize=100_000)
def trigrams(text: str) -> frozenset[str]:
    """pg_trgm's trigrams: lower-cased words, each padded with two spaces before and one after."""
    return frozenset(
        padded[i : i + 3]
        for word in _WORDS.findall(text.lower())
        for padded in (f"  {word} ",)
        for i in range(len(padded) - 2)
    )


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's `similarity`: shared trigrams over all distinct trigrams of the two."""
    left, right = trigrams(a), trigrams(b)
    union = len(left | right)
    return len(left & right) / union if union else 0.0


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
