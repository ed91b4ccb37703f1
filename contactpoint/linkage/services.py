"""Linking source records into children: full runs, incremental runs, merges and unmerges.

ContactPoint IDs are persistent: a full re-link recomputes clusters, but each cluster keeps the
child most of its records already belonged to, so IDs only change hands through an explicit,
audited merge (which leaves the merged ID resolving to the survivor) and come back on unmerge.
"""

import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from contactpoint.access.actors import Actor
from contactpoint.access.models import Shield
from contactpoint.access.services import shield_event_raise
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.feeds.loader import bulk_insert
from contactpoint.feeds.models import SourceRecord
from contactpoint.feeds.services import load_keys_release
from contactpoint.notifications.events import changes_watched, event_raise
from contactpoint.notifications.models import EventKind
from contactpoint.records import sealed
from contactpoint.records import services as records
from contactpoint.records.models import Child
from contactpoint.signposting import scope

from . import engine
from .candidates import candidate_keys_write, candidates_by_child, records_of_children
from .features import Features
from .firstpass import checks_deferred_to_end, checks_drop
from .flags import UNCHANGED, Seen, joined, needs_linking_clear, seen_of
from .frame import RECORD_FIELDS, frame, record_features
from .guard import contradiction, refusal
from .materialise import MATERIALISED_TABLES, Materialiser, materialise
from .model import COMPARISONS, candidate_keys
from .models import (
    ChildMerge,
    How,
    LinkRun,
    MaterialisedBatch,
    RecordLink,
    ReviewItem,
    ReviewStatus,
    RunKind,
)
from .pairs import PairScorer
from .scoring import MatchModel, Scored, current_model

CHUNK = 2000
# Records pointed at their children per statement. Past a few thousand pairs PostgreSQL hashes
# them and scans the whole source-record table once per statement, so statements are few and large.
POINT_CHUNK = 250_000
# What a first run writes a row of per record before materialising: the records' children and
# their link history (see firstpass).
LINKED_TABLES = (SourceRecord._meta.db_table, RecordLink._meta.db_table)
# Read with a record's values wherever a decision on them may clear its flag (`flags`).
STATE = ("content_hash", "withdrawn_at", "needs_linking")
Say = Callable[[str], None]


def link_run(*, full: bool = False, say: Say = lambda _: None) -> LinkRun:
    """Link every record not yet linked; the first run (or `full`) re-links everything.

    A run that stopped part-way (a crash, a deploy) is finished first: its links are committed,
    and its records' values are materialised from where it stopped, never twice.
    """
    for unfinished in LinkRun.objects.filter(finished_at__isnull=True).order_by("pk"):
        # What its decisions read is gone with it: flags stay, and this run links those records.
        resumed = _materialise_pending(say, run=unfinished, decided={})
        unfinished.counts = unfinished.counts | {"resumed": resumed}
        unfinished.finished_at = timezone.now()
        unfinished.save(update_fields=["counts", "finished_at"])
    live = SourceRecord.objects.filter(withdrawn_at__isnull=True).count()
    model = current_model().at_volume(live)
    first = not RecordLink.objects.exists()
    kind = RunKind.FULL if (full or first) else RunKind.INCREMENTAL
    run = LinkRun.objects.create(kind=kind, model_version=model.version, engine=_engine())
    decided: dict[int, Seen] = {}  # flagged records as the run's decisions read them
    counts = (_full_run if kind == RunKind.FULL else _incremental_run)(run, model, say, decided)
    counts["shielded_as_possible_duplicates"] = _shield_possible_duplicates(run)
    counts |= _materialise_pending(say, run=run, decided=decided)
    counts["load_keys_released"] = load_keys_release()
    run.counts = counts
    run.finished_at = timezone.now()
    run.save(update_fields=["counts", "finished_at"])
    audit_record(event_type=EventType.ADMIN, username="linkage", details={"link_run": run.pk, **counts})
    return run


def _engine() -> str:
    return settings.CONTACTPOINT_LINKAGE_ENGINE or "duckdb"


# -- full runs ---------------------------------------------------------------------------------


def _full_run(run: LinkRun, model: MatchModel, say: Say, decided: dict[int, Seen]) -> dict[str, int]:
    live = SourceRecord.objects.filter(withdrawn_at__isnull=True)
    rows = list(sealed.values_iterated(live, *RECORD_FIELDS, "child_id", *STATE))
    seen = {row["pk"]: seen_of(row) for row in rows}
    decided.update((row["pk"], seen[row["pk"]]) for row in rows if row["needs_linking"])
    say(f"Scoring pairs among {len(rows)} records ({run.engine})…")
    table = frame(rows)
    pairs = engine.predict(table, model, model.document, run.engine)
    kept_apart = _kept_apart_records(rows)
    decisions = engine.decide(table, pairs, model, cannot_link=kept_apart)
    say(
        f"{len(decisions.clusters)} children, {decisions.auto_pairs} automatic links, "
        f"{len(decisions.review)} pairs to review"
    )
    current = {row["pk"]: row["child_id"] for row in rows}
    evidence = _best_evidence(pairs, decisions.clusters)
    if not any(current.values()) and _nothing_materialised() and connection.vendor == "postgresql":
        checks_drop(run=run, tables=LINKED_TABLES)  # a first run: back when its materialisation ends
    with transaction.atomic():
        moved, merges, held_out = _assign(run, model, decisions.clusters, current, evidence, seen)
        reviews = _reviews_from_pairs(run, model, decisions.review)
    counts = {"records": len(rows), "moved": moved, "merged": merges, "review_items": reviews}
    return counts | ({"out_of_scope": held_out} if held_out else {})


def _kept_apart_records(rows: list[dict]) -> set[frozenset[int]]:
    """Children a reviewer said are different stay different, whatever a re-link computes."""
    by_child: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        if row["child_id"]:
            by_child[row["child_id"]].append(row["pk"])
    apart: set[frozenset[int]] = set()
    for a, b in ReviewItem.objects.filter(status=ReviewStatus.KEPT_APART).values_list("child_a", "child_b"):
        apart.update(frozenset((x, y)) for x in by_child.get(a, []) for y in by_child.get(b, []))
    return apart


def _best_evidence(pairs: pd.DataFrame, clusters: list[list[int]]) -> dict[int, float]:
    home = {r: n for n, group in enumerate(clusters) for r in group}
    best: dict[int, float] = {}
    for a, b, value in zip(pairs.id_l, pairs.id_r, pairs.evidence, strict=True):
        if home.get(a) == home.get(b):
            best[a] = max(best.get(a, value), value)
            best[b] = max(best.get(b, value), value)
    return best


def _assign(
    run: LinkRun,
    model: MatchModel,
    clusters: list[list[int]],
    current: dict[int, int | None],
    evidence: dict,
    seen: dict[int, Seen],
) -> tuple[int, int, int]:
    """Give each cluster a child, keeping IDs where records already were; returns (moved, merged,
    records held out of a targeted scope)."""
    claimed: set[int] = set()
    target: dict[int, int | None] = {}
    for group in sorted(clusters, key=lambda g: (-len(g), g[0])):
        counts = Counter(current[r] for r in group if current.get(r))
        options = sorted((c for c in counts if c not in claimed), key=lambda c: (-counts[c], c))
        child = options[0] if options else None
        if child is not None:
            claimed.add(child)
        for record in group:
            target[record] = child
    final = _new_children(target, clusters)
    moves = [(r, current.get(r), child) for r, child in final.items() if current.get(r) != child]
    _move(moves, run=run, model=model, evidence=evidence, seen=seen)
    held_out = _hold_out({r: seen[r] for r in target if r not in final})
    return (
        len(moves),
        _retire_emptied({old for _, old, _ in moves if old} - claimed, final, current, run),
        held_out,
    )


def _hold_out(seen: dict[int, Seen]) -> int:
    """Records that may not create a child (targeted scope) wait until their source changes them,
    as an incremental run leaves them: not tried again on every later run."""
    needs_linking_clear(seen=seen, unlinked_only=True)
    return len(seen)


def _new_children(target: dict[int, int | None], clusters: list[list[int]]) -> dict[int, int]:
    """Every cluster without a child gets a new one."""
    needing = [group for group in clusters if target[group[0]] is None]
    may_create = records_establishing_scope(r for group in needing for r in group)
    needing = [group for group in needing if may_create.intersection(group)]  # targeted scope
    final = {record: child for record, child in target.items() if child is not None}
    for group, child in zip(needing, children_create(count=len(needing)), strict=True):
        final.update(dict.fromkeys(group, child))
    return final


def records_establishing_scope(record_ids: Iterable[int]) -> set[int]:
    """Of these records, those that may create a child: all in the national scope; in the targeted
    scope only those that show the child is known to services (signposting.scope)."""
    ids = list(record_ids)
    if not scope.targeted():
        return set(ids)
    rows = sealed.values_opened(SourceRecord.objects.filter(pk__in=ids), "extras")
    return {row["pk"] for row in rows if scope.extras_establish_scope(row["extras"] or {})}


def children_create(*, count: int) -> list[int]:
    """New children with fresh ContactPoint IDs (never reissued); returns their primary keys."""
    return records.children_issue(count=count) if count else []


def _move(
    moves: list[tuple[int, int | None, int]],
    *,
    run: LinkRun | None,
    model: MatchModel | None,
    evidence: dict,
    how: str | None = None,
    seen: dict[int, Seen] | None = None,
) -> None:
    """Point records at their new children, with a history row each; they are re-materialised later.

    A run's moves are found again by their history rows (`_pending`), so the records' own rows are
    written once here; moves outside a run (merges) flag their records instead.
    """
    _point(moves, flag=run is None, seen=seen)
    at = RecordLink._meta.get_field("at").get_db_prep_save(timezone.now(), connection)
    history = (
        [
            record,
            child,
            old,
            how or (How.RELINK if old else (How.AUTO if record in evidence else How.NEW)),
            evidence.get(record),
            model.version if model else "",
            run.pk if run else None,
            at,
        ]
        for record, old, child in moves
    )
    columns = [
        "record_id",
        "child_id",
        "previous_child_id",
        "how",
        "evidence",
        "model_version",
        "run_id",
        "at",
    ]
    bulk_insert(RecordLink._meta.db_table, columns, history)


def _point(
    moves: list[tuple[int, int | None, int]], *, flag: bool, seen: dict[int, Seen] | None = None
) -> None:
    """Set each record's child and its `needs_linking` flag: one UPDATE joined to the pairs per
    POINT_CHUNK records. A flag cleared (a run's decision) is cleared only on records still as the
    run `seen` them (ADR 0020); one set (a merge's moves) is set on every record.
    """
    table = connection.ops.quote_name(SourceRecord._meta.db_table)
    columns = [("id", "bigint"), ("child", "bigint")]
    setting, state = "%s", seen or {}
    if not flag:
        columns += [("hash", "text"), ("live", "boolean")]
        setting = f"CASE WHEN {UNCHANGED} THEN %s ELSE r.needs_linking END"
    with connection.cursor() as cursor:
        for start in range(0, len(moves), POINT_CHUNK):
            rows = [
                (record, child) if flag else (record, child, *state[record])
                for record, _, child in moves[start : start + POINT_CHUNK]
            ]
            pairs, params = joined(columns, rows)
            cursor.execute(
                f"UPDATE {table} AS r SET child_id = v.child, needs_linking = {setting} "  # noqa: S608
                f"FROM {pairs} WHERE r.id = v.id",
                [flag, *params],
            )


def _retire_emptied(emptied: set[int], target: dict[int, int], current: dict, run: LinkRun) -> int:
    """A child whose records all joined another child is merged into it (its ID keeps resolving)."""
    merged = 0
    for old in sorted(emptied):
        moved_to = Counter(target[r] for r, c in current.items() if c == old)
        survivor = moved_to.most_common(1)[0][0]
        record_ids = sorted(r for r, c in current.items() if c == old)
        _record_merge(
            survivor=survivor, merged=old, record_ids=record_ids, reason=f"full re-link (run {run.pk})"
        )
        merged += 1
    return merged


# -- incremental runs --------------------------------------------------------------------------


@dataclass
class _Candidate:
    child: int
    best: Scored
    conflict: str | None


def _incremental_run(run: LinkRun, model: MatchModel, say: Say, decided: dict[int, Seen]) -> dict[str, int]:
    pending = list(
        SourceRecord.objects.filter(needs_linking=True, withdrawn_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    say(f"Linking {len(pending)} new or changed records…")
    counts: Counter[str] = Counter()
    for start in range(0, len(pending), CHUNK):
        with transaction.atomic():
            counts.update(_link_chunk(run, model, pending[start : start + CHUNK], decided))
    return dict(counts)


def _link_chunk(run: LinkRun, model: MatchModel, ids: list[int], decided: dict[int, Seen]) -> Counter[str]:
    rows = sealed.values_opened(SourceRecord.objects.filter(pk__in=ids), *RECORD_FIELDS, "child_id", *STATE)
    batch = _BatchIndex()
    counts: Counter[str] = Counter()
    for row in sorted(rows, key=lambda r: r["pk"]):
        f = record_features(row)
        seen = decided[row["pk"]] = seen_of(row)
        child, how, evidence, review = link_one(model, row["pk"], f, row["child_id"], extra=batch.find(f))
        if child is None:
            if not records_establishing_scope([row["pk"]]):  # targeted scope: not known to services
                needs_linking_clear(seen={row["pk"]: seen})
                counts["out_of_scope"] += 1
                continue
            child = children_create(count=1)[0]
        if child != row["child_id"]:
            _move(
                [(row["pk"], row["child_id"], child)],
                run=run,
                model=model,
                evidence={row["pk"]: evidence},
                how=how,
                seen={row["pk"]: seen},
            )
            if row["child_id"] is not None:
                counts["merged"] += _retire_if_emptied(run, old=row["child_id"], new=child, record=row["pk"])
        if review is not None:
            counts["review_items"] += _review_item(run, model, row["pk"], child, review)
        batch.add(row["pk"], child, f)
        counts[how] += 1
    return counts


def _retire_if_emptied(run: LinkRun, *, old: int, new: int, record: int) -> int:
    """A child whose last live record joined another child is merged into it, as a full re-link
    retires the children it empties: its ID keeps resolving, to where its record went."""
    if SourceRecord.objects.filter(child_id=old, withdrawn_at__isnull=True).exists():
        return 0
    _record_merge(survivor=new, merged=old, record_ids=[record], reason=f"incremental link (run {run.pk})")
    return 1


class _BatchIndex:
    """Records linked earlier in this chunk, so two new records of one new child find each other."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[tuple[int, Features]]] = defaultdict(list)

    def add(self, record: int, child: int, f: Features) -> None:
        for key in candidate_keys(f):
            self.by_key[key].append((child, f))

    def find(self, f: Features) -> dict[int, list[Features]]:
        found: dict[int, list[Features]] = defaultdict(list)
        for key in candidate_keys(f):
            for child, other in self.by_key.get(key, []):
                found[child].append(other)
        return found


def link_one(
    model: MatchModel,
    record: int,
    f: Features,
    current: int | None,
    *,
    extra: dict[int, list[Features]] | None = None,
) -> tuple[int | None, str, float | None, _Candidate | None]:
    """Decide one record against the index: (child or None for a new one, how, evidence, review).

    A changed record (`current`: its child) stays only while it still fits that child: a source
    that corrects a record filed against the wrong child sends values naming another child, and
    keeping it would show them under the wrong one until a full re-link. One that no longer fits
    is decided as a new record, except that its child's only record keeps its child (and its ID)
    rather than leave it empty for a new one.
    """
    candidates = _score_candidates(model, f, record, extra or {})
    standing = None if current is None else _standing(model, f, current, candidates)
    if standing == _FITS:
        return current, How.AUTO, None, None
    if current is not None:
        candidates = _kept_apart_from(current, candidates)
    child, how, evidence, review = _decide(model, candidates)
    if child is None and standing == _ALONE:
        return current, How.AUTO, None, review
    return child, how, evidence, review


def _decide(
    model: MatchModel, candidates: list[_Candidate]
) -> tuple[int | None, str, float | None, _Candidate | None]:
    strong = [c for c in candidates if c.best.evidence >= model.thresholds.auto and c.conflict is None]
    worth_review = [c for c in candidates if model.worth_review(c.best.evidence, c.best.weights)]
    if len(strong) == 1 and not any(
        c.conflict and c.best.evidence >= model.thresholds.auto for c in candidates
    ):
        return strong[0].child, How.AUTO, strong[0].best.evidence, None
    if worth_review:
        top = max(worth_review, key=lambda c: c.best.evidence)
        return None, How.NEW_PENDING_REVIEW, None, top
    return None, How.NEW, None, None


# How a changed record stands with its child (`_standing`).
_FITS, _ALONE, _APART = "fits", "alone", "apart"


def _standing(model: MatchModel, f: Features, current: int, candidates: list[_Candidate]) -> str:
    """Whether a changed record still fits its child: its best pair with the child's other live
    records reaches the review threshold and the guard does not object (fits), the child has no
    other live record (alone), or neither (apart). The blocked candidates usually answer; the
    child's other records are read only when they do not."""
    mine = next((c for c in candidates if c.child == current), None)
    if mine is not None and mine.conflict:
        return _APART
    if mine is not None and mine.best.evidence >= model.thresholds.review:
        return _FITS
    others = records_of_children([current]).get(current, [])
    if f in others:  # the record itself (if a feed changed it since, it counts, and stays flagged)
        others.remove(f)
    if not others:
        return _ALONE
    theirs = _candidate(model, PairScorer(model, [f]), f, current, others)
    return _FITS if theirs.conflict is None and theirs.best.evidence >= model.thresholds.review else _APART


def _kept_apart_from(current: int, candidates: list[_Candidate]) -> list[_Candidate]:
    """A record leaving its child never joins a child a person said is a different one: a full
    re-link keeps their records apart too (`_kept_apart_records`)."""
    apart = {
        b if a == current else a
        for a, b in ReviewItem.objects.filter(
            Q(child_a_id=current) | Q(child_b_id=current), status=ReviewStatus.KEPT_APART
        ).values_list("child_a_id", "child_b_id")
    }
    return [
        replace(c, conflict=c.conflict or "a person decided these are different children")
        if c.child in apart
        else c
        for c in candidates
    ]


def _score_candidates(
    model: MatchModel, f: Features, record: int, extra: dict[int, list[Features]]
) -> list[_Candidate]:
    found = candidates_by_child(candidate_keys(f), exclude_record=record)
    for child, more in extra.items():
        found.setdefault(child, []).extend(more)
    scorer = PairScorer(model, [f])  # each comparison once per distinct pair of values (ADR 0019)
    return [_candidate(model, scorer, f, child, features) for child, features in found.items()]


def _candidate(
    model: MatchModel, scorer: PairScorer, f: Features, child: int, features: list[Features]
) -> _Candidate:
    scored = [(scorer.scored(0, other), index) for index, other in enumerate(features)]
    best, at = max(scored, key=lambda s: s[0].evidence)
    conflict = refusal(best.levels, model.name_share(f, features[at])) or next(
        (reason for s, _ in scored if (reason := contradiction(s.levels))), None
    )
    return _Candidate(child=child, best=best, conflict=conflict)


def _review_item(run: LinkRun, model: MatchModel, record: int, child: int, candidate: _Candidate) -> int:
    other = (
        SourceRecord.objects.filter(child_id=candidate.child, withdrawn_at__isnull=True)
        .order_by("pk")
        .first()
    )
    if other is None or candidate.child == child:
        return 0
    return _review_save(
        run,
        model,
        record,
        other.pk,
        child,
        candidate.child,
        candidate.best.evidence,
        waterfall(candidate.best),
        candidate.conflict or "between the review and automatic thresholds",
    )


def waterfall(scored: Scored) -> dict[str, list]:
    return {c.name: [scored.level_label(i), round(scored.weights[i], 3)] for i, c in enumerate(COMPARISONS)}


# -- review items ------------------------------------------------------------------------------


def _reviews_from_pairs(run: LinkRun, model: MatchModel, review: pd.DataFrame) -> int:
    if review.empty:
        return 0
    child_of = dict(
        SourceRecord.objects.filter(pk__in=set(review.id_l) | set(review.id_r)).values_list("pk", "child_id")
    )
    best: dict[tuple[int, int], tuple] = {}
    for row in review.itertuples(index=False):
        a, b = child_of[row.id_l], child_of[row.id_r]
        if a is None or b is None or a == b:  # a record held out of a targeted scope has no child
            continue
        pair, ends = ((a, b), (row.id_l, row.id_r)) if a < b else ((b, a), (row.id_r, row.id_l))
        if pair not in best or row.evidence > best[pair][2]:
            best[pair] = (*ends, row.evidence, row.levels, row.weights, row.reason)
    settled = _settled_pairs({child for pair in best for child in pair})
    items = [
        ReviewItem(
            child_a_id=a,
            child_b_id=b,
            record_a_id=ra,
            record_b_id=rb,
            evidence=evidence,
            weights=waterfall(Scored(evidence, tuple(levels), tuple(weights))),
            reason=(reason or "between the thresholds")[:120],
            model_version=model.version,
            run=run,
        )
        for (a, b), (ra, rb, evidence, levels, weights, reason) in best.items()
        if (a, b) not in settled
    ]
    ReviewItem.objects.bulk_create(items, batch_size=CHUNK)
    return len(items)


def _settled_pairs(children: set[int]) -> set[tuple[int, int]]:
    """Pairs already open, or that a person has said are different children: not queued again."""
    ids = sorted(children)
    found: set[tuple[int, int]] = set()
    for start in range(0, len(ids), CHUNK):
        found.update(
            ReviewItem.objects.filter(child_a__in=ids[start : start + CHUNK])
            .exclude(status=ReviewStatus.LINKED)
            .values_list("child_a", "child_b")
        )
    return found


def _review_save(run, model, record_a, record_b, child_a, child_b, evidence, weights, reason) -> int:
    if child_a > child_b:
        child_a, child_b, record_a, record_b = child_b, child_a, record_b, record_a
    if (
        ReviewItem.objects.filter(child_a=child_a, child_b=child_b)
        .exclude(status=ReviewStatus.LINKED)
        .exists()
    ):
        return 0  # open already, or a person has said these are different children
    ReviewItem.objects.create(
        child_a_id=child_a,
        child_b_id=child_b,
        record_a_id=record_a,
        record_b_id=record_b,
        evidence=evidence,
        weights=weights,
        reason=reason[:120],
        model_version=model.version,
        run=run,
    )
    return 1


POSSIBLE_DUPLICATE = "Possible duplicate of a shielded child; shielded until the pair is reviewed."


def _shield_possible_duplicates(run: LinkRun) -> int:
    """A child that may be a shielded child's duplicate is shielded too until a person decides:
    otherwise the shielded child's details would be on show under a second ID. Each shield is
    audited and raises its event in its own transaction, as a shield added on the page does."""
    shields = {
        s.child_id: s for s in Shield.objects.filter(ended_at__isnull=True).select_related("local_authority")
    }
    made = 0
    for a, b in ReviewItem.objects.filter(run=run, status=ReviewStatus.OPEN).values_list(
        "child_a", "child_b"
    ):
        for shielded, other in ((a, b), (b, a)):
            if shielded in shields and other not in shields:
                shields[other] = _possible_duplicate_shield(child_id=other, original=shields[shielded])
                made += 1
    return made


@transaction.atomic
def _possible_duplicate_shield(*, child_id: int, original: Shield) -> Shield:
    shield = Shield.objects.create(
        child_id=child_id,
        local_authority=original.local_authority,
        reason=POSSIBLE_DUPLICATE,
        created_by=original.created_by,
        review_due=original.review_due,
    )
    codes = dict(
        Child.objects.filter(pk__in=[child_id, original.child_id]).values_list("pk", "contactpoint_id")
    )
    audit_record(
        event_type=EventType.SHIELD,
        username="linkage",
        child_ids=[codes[child_id]],
        reason=POSSIBLE_DUPLICATE,
        details={"action": "added", "possible_duplicate_of": codes[original.child_id]},
    )
    shield_event_raise(shield=shield, added=True, possible_duplicate=True)
    return shield


def _possible_duplicate_shields_end(item: ReviewItem, *, by) -> None:
    """The pair was decided to be two children: a shield linkage put on either of them only for
    being a possible duplicate ends, unless another open pair still makes it one."""
    for shield in Shield.objects.filter(
        child_id__in=[item.child_a_id, item.child_b_id], ended_at__isnull=True, reason=POSSIBLE_DUPLICATE
    ).select_related("child"):
        if _still_possible_duplicate(shield.child_id):
            continue
        shield.ended_at, shield.ended_by, shield.end_reason = (
            timezone.now(),
            by,
            f"Reviewed: not the shielded child (review item {item.pk}).",
        )
        shield.save(update_fields=["ended_at", "ended_by", "end_reason"])
        audit_record(
            event_type=EventType.SHIELD,
            username=by.get_username() if by else "linkage",
            child_ids=[shield.child.contactpoint_id],
            reason=shield.end_reason,
            details={"action": "ended", "review_item": item.pk},
        )
        shield_event_raise(shield=shield, added=False, possible_duplicate=True)


def _still_possible_duplicate(child_id: int) -> bool:
    pairs = ReviewItem.objects.filter(
        Q(child_a_id=child_id) | Q(child_b_id=child_id), status=ReviewStatus.OPEN
    ).values_list("child_a_id", "child_b_id")
    others = {b if a == child_id else a for a, b in pairs}
    return Shield.objects.filter(child_id__in=others, ended_at__isnull=True).exists()


# -- merges ------------------------------------------------------------------------------------


def _record_merge(*, survivor: int, merged: int, record_ids: list[int], reason: str, by=None) -> ChildMerge:
    moment = timezone.now()
    Child.objects.filter(pk=merged).update(merged_into_id=survivor, merged_at=moment)
    merge = ChildMerge.objects.create(
        survivor_id=survivor, merged_id=merged, record_ids=record_ids, reason=reason, by=by
    )
    ids = dict(Child.objects.filter(pk__in=[survivor, merged]).values_list("pk", "contactpoint_id"))
    _shield_follows_merge(merge, codes=ids, by=by)
    audit_record(
        event_type=EventType.MERGE,
        username=by.get_username() if by else "linkage",
        child_ids=list(ids.values()),
        reason=reason,
        details={
            "survivor": ids[survivor],
            "merged": ids[merged],
            "records": len(record_ids),
            "merge": merge.pk,
        },
    )
    return merge


MERGED_SHIELD_PREFIX = "Holds the records of a shielded child merged into it"
MERGED_SHIELD = MERGED_SHIELD_PREFIX + " (merge {merge})."


def _shield_follows_merge(merge: ChildMerge, *, codes: dict[int, str], by) -> None:
    """A shielded child merged into an unshielded one is the same child under the survivor's ID:
    without a shield there, its hidden fields (a refuge's address, its services) would show to
    everyone. The survivor gets a shield of the same authority and review date, audited, ended
    again if the merge is undone (`_merged_shield_end`)."""
    original = Shield.objects.filter(child_id=merge.merged_id, ended_at__isnull=True).first()
    if original is None or Shield.objects.filter(child_id=merge.survivor_id, ended_at__isnull=True).exists():
        return
    shield = Shield.objects.create(
        child_id=merge.survivor_id,
        local_authority=original.local_authority,
        reason=MERGED_SHIELD.format(merge=merge.pk),
        created_by=by or original.created_by,
        review_due=original.review_due,
    )
    audit_record(
        event_type=EventType.SHIELD,
        username=by.get_username() if by else "linkage",
        child_ids=[codes[merge.survivor_id]],
        reason=shield.reason,
        details={"action": "added", "merged_shielded_child": codes[merge.merged_id], "merge": merge.pk},
    )
    shield_event_raise(shield=shield, added=True)


def _merged_shield_end(merge: ChildMerge, *, codes: dict[int, str], by) -> None:
    """A merge into a survivor shielded only by merges is undone: the shield goes back with the
    shielded child's records (it stayed live on that child), unless another shielded child is still
    merged into the survivor."""
    shield = Shield.objects.filter(
        child_id=merge.survivor_id, ended_at__isnull=True, reason__startswith=MERGED_SHIELD_PREFIX
    ).first()
    if shield is None:
        return
    still = Shield.objects.filter(
        child__merged_into_id=merge.survivor_id, child__merged_at__isnull=False, ended_at__isnull=True
    )
    if still.exists():
        return
    shield.ended_at, shield.ended_by = timezone.now(), by
    shield.end_reason = f"Merge {merge.pk} undone: the shielded child's records left this child."
    shield.save(update_fields=["ended_at", "ended_by", "end_reason"])
    audit_record(
        event_type=EventType.SHIELD,
        username=by.get_username() if by else "linkage",
        child_ids=[codes[merge.survivor_id]],
        reason=shield.end_reason,
        details={"action": "ended", "merge": merge.pk},
    )
    shield_event_raise(shield=shield, added=False)


@transaction.atomic
def children_merge(*, survivor: Child, merged: Child, reason: str, by=None) -> ChildMerge:
    """Two children are one: every record of `merged` moves to `survivor`, whose ID lives on."""
    if survivor.pk == merged.pk or survivor.merged_into_id or merged.merged_into_id:
        raise ValueError("Only two different children that are not already merged can be merged.")
    record_ids = list(SourceRecord.objects.filter(child=merged).values_list("pk", flat=True))
    settled = _move_outside_run(record_ids, old=merged.pk, new=survivor.pk, how=How.MERGE)
    merge = _record_merge(survivor=survivor.pk, merged=merged.pk, record_ids=record_ids, reason=reason, by=by)
    # The merge is the event; its moved values are not news.
    _materialise_pending(watch=False, records=record_ids, decided=settled)
    event_raise(kind=EventKind.CHILDREN_MERGED, child=survivor, other_child=merged, merge=merge.pk)
    return merge


@transaction.atomic
def merge_undo(*, merge: ChildMerge, reason: str, by=None) -> None:
    """Split a merge: the merged child comes back, with exactly the records it brought."""
    if merge.undone_at is not None:
        raise ValueError("This merge has already been undone.")
    ids = [
        r for r in merge.record_ids if SourceRecord.objects.filter(pk=r, child_id=merge.survivor_id).exists()
    ]
    settled = _move_outside_run(ids, old=merge.survivor_id, new=merge.merged_id, how=How.UNMERGE)
    Child.objects.filter(pk=merge.merged_id).update(merged_into=None, merged_at=None)
    merge.undone_at, merge.undone_by = timezone.now(), by
    merge.save(update_fields=["undone_at", "undone_by"])
    _keep_apart(merge, by=by)
    codes = dict(
        Child.objects.filter(pk__in=[merge.survivor_id, merge.merged_id]).values_list("pk", "contactpoint_id")
    )
    _merged_shield_end(merge, codes=codes, by=by)
    audit_record(
        event_type=EventType.UNMERGE,
        username=by.get_username() if by else "linkage",
        child_ids=list(codes.values()),
        reason=reason,
        details={"merge": merge.pk, "records": len(ids)},
    )
    _materialise_pending(watch=False, records=ids, decided=settled)
    event_raise(
        kind=EventKind.MERGE_UNDONE, child=merge.survivor_id, other_child=merge.merged_id, merge=merge.pk
    )


def _move_outside_run(record_ids: list[int], *, old: int, new: int, how: str) -> dict[int, Seen]:
    """Move records between children for a merge or an unmerge; returns, of them, those a link
    run has decided on as they stand (not flagged), in that state. Only those have their flag
    cleared when the move is materialised: a record a feed changed since its last link keeps it,
    so the next run decides it on its new values (ADR 0020)."""
    rows = SourceRecord.objects.filter(pk__in=record_ids).values("pk", *STATE)
    settled = {row["pk"]: seen_of(row) for row in rows if not row["needs_linking"]}
    _move([(r, old, new) for r in record_ids], run=None, model=None, evidence={}, how=how)
    return settled


def _keep_apart(merge: ChildMerge, *, by) -> None:
    """An undone merge is a decision that these are two children: a full re-link must respect it."""
    a, b = sorted([merge.survivor_id, merge.merged_id])
    ReviewItem.objects.filter(child_a_id=a, child_b_id=b, status=ReviewStatus.OPEN).delete()
    record_a = SourceRecord.objects.filter(child_id=a).order_by("pk").first()
    record_b = SourceRecord.objects.filter(child_id=b).order_by("pk").first()
    if record_a is None or record_b is None:
        return
    ReviewItem.objects.create(
        child_a_id=a,
        child_b_id=b,
        record_a=record_a,
        record_b=record_b,
        evidence=0.0,
        weights={},
        reason="merge undone",
        model_version="",
        status=ReviewStatus.KEPT_APART,
        decided_by=by,
        decided_at=merge.undone_at,
    )


@transaction.atomic
def review_decide(*, item: ReviewItem, same_child: bool, by, actor: Actor | None = None) -> ChildMerge | None:
    """A reviewer's decision: same child (merge, the older ID survives) or different children.

    The decision is audited in its own right: "different children" changes no record, yet every
    later run obeys it, so who decided it must be as visible as a merge.
    """
    if item.status != ReviewStatus.OPEN:
        raise ValueError("This pair has already been decided.")
    item.status = ReviewStatus.LINKED if same_child else ReviewStatus.KEPT_APART
    item.decided_by, item.decided_at = by, timezone.now()
    item.save(update_fields=["status", "decided_by", "decided_at"])
    audit_record(
        event_type=EventType.ADMIN,
        actor=actor,
        username="" if actor else (by.get_username() if by else "linkage"),
        child_ids=[item.child_a.contactpoint_id, item.child_b.contactpoint_id],
        reason=f"review item {item.pk}",
        details={
            "action": "linkage_review_decided",
            "review_item": item.pk,
            "decision": "same_child" if same_child else "different_children",
            "evidence": item.evidence,
            "model_version": item.model_version,
        },
    )
    if not same_child:
        _possible_duplicate_shields_end(item, by=by)
        return None
    survivor, merged = sorted([item.child_a, item.child_b], key=lambda c: c.pk)
    return children_merge(survivor=survivor, merged=merged, reason=f"review item {item.pk}", by=by)


# -- materialisation ---------------------------------------------------------------------------


def _materialise_pending(
    say: Say = lambda _: None,
    *,
    run: LinkRun | None = None,
    watch: bool = True,
    decided: dict[int, Seen] | None = None,
    records: list[int] | None = None,
) -> dict[str, int]:
    """Re-assert every record whose child or values changed, then re-key it; resumable.

    A run's batches each commit a ledger row (`MaterialisedBatch`) with their values, so a run
    that stopped is finished by the next from where it stopped. A first pass (no assertions
    anywhere) checks the written rows' foreign keys and builds their indexes once at the end,
    rather than row by row (`firstpass`). What the new values change for each child (its area, who
    works with it) is raised as notification events in the same transaction, except on a first
    load (nothing was known, so nothing is news) and when the caller raises its own
    (`watch=False`: merges). A flagged record's flag is cleared only if it is as the run's
    decisions read it (`decided`; without them, as materialising read it): one that changed since
    is linked again by the next run (ADR 0020). A merge or an unmerge materialises only the
    `records` it moved: other flagged records wait for the run that decides them.
    """
    done = 0
    # No assertions anywhere (a first load): nothing to supersede, re-choose or re-key.
    fresh = _nothing_materialised()
    materialiser = Materialiser()
    pending = _pending(run, records)
    with checks_deferred_to_end(run=run, tables=MATERIALISED_TABLES, start=fresh and bool(pending)):
        for batch in _by_whole_children(pending):
            with transaction.atomic():
                _materialise_batch(batch, materialiser, fresh=fresh, watch=watch, decided=decided)
                if run is not None:
                    MaterialisedBatch.objects.create(
                        run=run,
                        first_child=batch.first_child,
                        last_child=batch.last_child,
                        records=len(batch.ids),
                    )
            done += len(batch.ids)
            say(f"  materialised {done} records")
    return {"materialised": done}


def _nothing_materialised() -> bool:
    return not any(model._default_manager.exists() for model in records.ITEM_MODELS.values())


def _materialise_batch(
    batch: "_Batch", materialiser: Materialiser, *, fresh: bool, watch: bool, decided: dict[int, Seen] | None
) -> None:
    previous = set() if fresh else _previous_children(batch.ids)
    watched: set[int] = set()
    if watch and not fresh:
        watched = set(batch.children) | previous
    with changes_watched(watched):
        rows = materialise(
            batch.ids, materialiser=materialiser, fresh=fresh, flagged=batch.flagged, decided=decided
        )
        for child in previous:
            records.child_values_choose(child=Child(pk=child))
    candidate_keys_write(rows=rows, replace=not fresh)


def _pending(run: LinkRun | None, records: list[int] | None = None) -> list[tuple[int, int, bool]]:
    """(record, child, flagged) to materialise, by child: the records flagged `needs_linking` and,
    for a run, those it moved, less the children its committed batches already covered; or just
    these `records`."""
    wanted = Q(needs_linking=True) if records is None else Q(pk__in=records)
    if run is not None:
        wanted |= Q(pk__in=RecordLink.objects.filter(run=run).values("record_id"))
    rows = (
        SourceRecord.objects.filter(wanted, child__isnull=False)
        .order_by("child_id", "pk")
        .values_list("pk", "child_id", "needs_linking")
    )
    if run is None:
        return list(rows)
    done = sorted(MaterialisedBatch.objects.filter(run=run).values_list("first_child", "last_child"))
    starts = [first for first, _ in done]
    return [row for row in rows if not _covered(row[1], done, starts)]


def _covered(child: int, done: list[tuple[int, int]], starts: list[int]) -> bool:
    at = bisect.bisect_right(starts, child) - 1
    return at >= 0 and done[at][1] >= child


@dataclass
class _Batch:
    ids: list[int]
    children: list[int]
    flagged: list[int]

    @property
    def first_child(self) -> int:
        return self.children[0]

    @property
    def last_child(self) -> int:
        return self.children[-1]


def _by_whole_children(rows: Iterable[tuple[int, int, bool]]) -> Iterable[_Batch]:
    """Batches of about CHUNK records that never split a child's records (chosen once, in memory),
    so a batch is a range of children."""
    batch = _Batch([], [], [])
    for pk, child, flagged in rows:
        if len(batch.ids) >= CHUNK and child != batch.last_child:
            yield batch
            batch = _Batch([], [], [])
        batch.ids.append(pk)
        if not batch.children or batch.children[-1] != child:
            batch.children.append(child)
        if flagged:
            batch.flagged.append(pk)
    if batch.ids:
        yield batch


def _previous_children(ids: Iterable[int]) -> set[int]:
    """Children that lost these records since they were last materialised (to re-choose values)."""
    latest: dict[int, int | None] = {}
    links = RecordLink.objects.filter(record_id__in=list(ids)).order_by("at", "pk")
    for record, previous in links.values_list("record_id", "previous_child_id"):
        latest[record] = previous
    return {previous for previous in latest.values() if previous}
