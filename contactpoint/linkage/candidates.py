"""The candidate index: blind blocking keys of linked records, and finding candidates by them.

Two ways in, both answered by the key index: the blocking keys (exact and phonetic, computed
here in Python so that every database holds the same `CandidateKey` rows), and a family name
spelled so differently that its sound changed, within a birth date: each linked record also has
one key per trigram of its family name inside its birth date, and a record sharing enough of the
typed name's trigrams on that date is a candidate. Every key is stored and looked up blind
(linkage.blind), so neither way in reads or opens a record's values.
"""

import datetime
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from contactpoint.compiled import CompiledRead, member_list, members, stand_in
from contactpoint.feeds.loader import bulk_insert
from contactpoint.feeds.models import SourceRecord
from contactpoint.records import sealed
from contactpoint.records.services import identifiers_rekey

from .blind import LIVE_KEYS_TTL, blind, blinds, index_key_add, index_keys, index_keys_retire
from .features import Features
from .frame import CARER_FAMILY_NAMES, RECORD_FIELDS, record_features
from .model import candidate_keys
from .models import CandidateKey

# What blocking keys are made of: the carers' names never are, and materialised rows do not hold them.
KEY_FIELDS = tuple(name for name in RECORD_FIELDS if name not in CARER_FAMILY_NAMES)
MAX_CANDIDATE_RECORDS = 2000  # a query matching more than this is far too vague to rank


def record_keys(row: dict[str, Any], index_key: bytes) -> list[bytes]:
    """A record's blind keys: its blocking keys and its family name's trigrams in its birth date."""
    texts = candidate_keys(record_features({name: row[name] for name in KEY_FIELDS}))
    texts += trigram_keys(row["family_name"] or "", row["date_of_birth"])
    return [blind(index_key, text) for text in dict.fromkeys(texts)]


def trigram_keys(family: str, born: datetime.date | str | None) -> list[str]:
    if not born or not family.strip():
        return []
    day = born if isinstance(born, str) else born.isoformat()
    return [f"t:{day}|{trigram}" for trigram in sorted(trigrams(family))]


def candidate_keys_write(*, rows: list[dict], replace: bool) -> int:
    """Key records whose values the caller has just read; `replace=False` when they have no keys yet."""
    if replace:
        CandidateKey.objects.filter(record_id__in=[row["pk"] for row in rows]).delete()
    newest = index_keys(fresh=True)[0]
    keyed = [
        [row["pk"], row["child_id"], key]
        for row in rows
        if row["child_id"] is not None and row["withdrawn_at"] is None
        for key in record_keys(row, newest)
    ]
    bulk_insert(CandidateKey._meta.db_table, ["record_id", "child_id", "key"], keyed)
    return len(keyed)


def candidate_index_rebuild(*, batch_size: int = 5000, say=lambda _: None) -> int:
    """Re-key every linked record under the newest index key (a rotation, or a restore)."""
    linked = SourceRecord.objects.filter(child__isnull=False, withdrawn_at__isnull=True).order_by("pk")
    done, last = 0, 0
    while True:
        with transaction.atomic():
            rows = sealed.values_opened(
                linked.filter(pk__gt=last), *KEY_FIELDS, "child_id", "withdrawn_at", limit=batch_size
            )
            if not rows:
                return done
            candidate_keys_write(rows=rows, replace=True)
        done += len(rows)
        last = rows[-1]["pk"]
        say(f"  re-keyed {done} records")


def index_key_rotate(*, wait: float = LIVE_KEYS_TTL, say=lambda _: None) -> int:
    """A new index key, the index rebuilt under it, the older keys deleted; returns records re-keyed.

    Searches blind under every live key meanwhile; before the old key goes, this waits until every
    process has re-read its live keys (LIVE_KEYS_TTL), so none still looks up under the old key only.
    """
    started = time.monotonic()
    newest = index_key_add()
    done = candidate_index_rebuild(say=say)
    time.sleep(max(0.0, wait - (time.monotonic() - started)))
    # After the wait every writer blinds under the new key, so nothing re-keyed here goes stale.
    say(f"Re-keyed {identifiers_rekey()} identifier(s).")
    index_keys_retire(older_than=newest)
    return done


TRIGRAM_THRESHOLD = 0.3  # pg_trgm's default `similarity_threshold`, the measure this index keeps


def candidates_by_child(
    keys: Iterable[str],
    *,
    limit: int = MAX_CANDIDATE_RECORDS,
    exclude_record: int | None = None,
    similar_family: tuple[str, Sequence[datetime.date]] | None = None,
) -> dict[int, list[Features]]:
    """Features of every linked record sharing a key, grouped by child (at most `limit` records).

    `similar_family` (a family name as typed, and birth dates) adds the linked records born on one
    of those dates that share at least TRIGRAM_THRESHOLD of the typed name's trigrams: a typo
    that changed the name's sound (and so its phonetic key) still finds the child when the birth
    date is right. That is looser than trigram similarity (which also counts the record's own
    trigrams, which the index does not reveal), never stricter: the match model ranks them after.
    """
    live = index_keys()
    exact = blinds(live, sorted(set(keys)))
    family, dates = similar_family if similar_family else ("", ())
    grams = [key for day in dates for key in trigram_keys(family, day)]
    needed = max(1, math.ceil(TRIGRAM_THRESHOLD * len(trigrams(family)))) if grams else 0
    exclude = exclude_record or 0
    if connection.vendor != "postgresql":  # SQLite lists every key as a parameter: no fixed shape
        return _by_child(
            _live_features(pk__in=_keyed_or_similar(exact, blinds(live, grams), needed, limit, exclude))
        )
    if grams:
        rows = _KEYED_OR_SIMILAR.rows(
            exact=exact, grams=blinds(live, grams), needed=needed, limit=limit, exclude=exclude
        )
    else:
        rows = _KEYED.rows(exact=exact, limit=limit, exclude=exclude)
    return _by_child(rows)


def _keyed_or_similar(
    exact: list[bytes], grams: list[bytes], needed: int, limit: int, exclude: int
) -> RawSQL:
    """One statement for both ways in, so a search pays one round trip for its candidates.

    Only placeholders are formatted into the SQL; every value is a parameter.
    """
    exact_in, exact_params = _any(exact)
    sql = f"SELECT record_id FROM linkage_candidatekey WHERE key {exact_in} AND record_id <> %s"  # noqa: S608
    params: list[Any] = [*exact_params, exclude]
    if grams:
        grams_in, grams_params = _any(grams)
        sql += (
            f" UNION SELECT record_id FROM linkage_candidatekey WHERE key {grams_in}"  # noqa: S608
            " AND record_id <> %s GROUP BY record_id HAVING count(*) >= %s"
        )
        params += [*grams_params, exclude, needed]
    return RawSQL(f"SELECT record_id FROM ({sql}) AS found LIMIT %s", [*params, limit])  # noqa: S608, S611


def _live_features(**which) -> QuerySet:
    """The records' values with the key each was sealed under, in the one statement (opened by
    `_by_child` after it ran)."""
    return sealed.values_query(
        SourceRecord.objects.filter(withdrawn_at__isnull=True, **which), *RECORD_FIELDS, "child_id"
    )


# On PostgreSQL the candidate read has two shapes (the keys alone, or with the trigram keys), each
# compiled once per connection: the ORM compiled it on every search, which cost more than running it.
_KEYED = CompiledRead(
    lambda vendor: _live_features(
        pk__in=_keyed_or_similar(
            cast(Any, stand_in("exact")), [], 0, cast(Any, stand_in("limit")), cast(Any, stand_in("exclude"))
        )
    )
)
_KEYED_OR_SIMILAR = CompiledRead(
    lambda vendor: _live_features(
        pk__in=_keyed_or_similar(
            cast(Any, stand_in("exact")),
            cast(Any, stand_in("grams")),
            cast(Any, stand_in("needed")),
            cast(Any, stand_in("limit")),
            cast(Any, stand_in("exclude")),
        )
    )
)
_OF_CHILDREN = CompiledRead(lambda vendor: _live_features(child_id__in=members(vendor, "children")))


def _any(values: list[bytes]) -> tuple[str, list[Any]]:
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [values]
    return f"IN ({', '.join(['%s'] * len(values)) or 'NULL'})", list(values)


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
    return _by_child(_OF_CHILDREN.rows(children=member_list(connection.vendor, list(child_ids))))


def _by_child(rows: Iterable[dict]) -> dict[int, list[Features]]:
    by_child: dict[int, list[Features]] = defaultdict(list)
    for row in sealed.rows_opened(SourceRecord, rows, RECORD_FIELDS):
        if row["child_id"] is not None:
            by_child[row["child_id"]].append(record_features(row))
    return by_child
