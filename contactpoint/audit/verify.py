"""Checking the whole log: every event's MAC, the chain's order and hashes, and every checkpoint.

The chain can be checked in segments between signed checkpoints, in parallel: a checkpoint's
signed hash is where the next segment starts, and the segment ending there checks that the chain
really reaches that hash. So each segment needs nothing from the others and the answer is the
same as one walk from the start: the first bad entry is the first found in the earliest segment.
"""

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max

from . import keys
from .models import AuditCheckpoint, AuditEvent, AuditSeal
from .services import GENESIS, HASHED_FIELDS, canonical, chain_hash, checkpoint_signature
from .verify_worker import Segment, SegmentResult, segment_check, worker_start

CHUNK = 20_000
SEGMENTS_PER_WORKER = 4  # smaller segments even out the workers' finishing times


@dataclass
class Verdict:
    events_checked: int = 0
    pending: int = 0  # settled into the log but not yet sealed into the chain
    problems: list[str] = field(default_factory=list)
    workers: int = 1
    processes: set[int] = field(default_factory=set)  # those that checked segments

    @property
    def intact(self) -> bool:
        return not self.problems


def _sealed(segment: Segment) -> Iterator[dict]:
    columns = [f"event__{f}" for f in HASHED_FIELDS]
    rows = AuditSeal.objects.filter(position__gt=segment.after)
    if segment.through is not None:
        rows = rows.filter(position__lte=segment.through)
    values = rows.order_by("position").values(
        "position", "previous_hash", "entry_hash", "event_id", "event__mac", "event__key_id", *columns
    )
    for row in values.iterator(chunk_size=CHUNK):
        event = {f: row[f"event__{f}"] for f in HASHED_FIELDS}
        yield row | {"event": event}


def _mac_holds(key_id: str, content: bytes, mac: str) -> str | None:
    """None when the MAC is right; otherwise what is wrong with it."""
    try:
        return None if keys.signed_by(key_id, content) == mac else "the event's content has been altered"
    except keys.UnknownKey:
        return f"signed with key {key_id!r}, which is not in the audit keyring"


def verify_segment(segment: Segment, *, stop_at_first: bool = True) -> SegmentResult:
    result = SegmentResult(last_position=segment.after)
    checkpoints = AuditCheckpoint.objects.filter(position__gt=segment.after)
    if segment.through is not None:
        checkpoints = checkpoints.filter(position__lte=segment.through)
    signed = {c.position: c for c in checkpoints}
    before = AuditSeal.objects.filter(position=segment.after).values_list("event_id", flat=True).first()
    running, position, last_event_id = segment.start_hash, segment.after, before or 0
    for row in _sealed(segment):
        position += 1
        where = f"position {row['position']} (event {row['event_id']})"
        content = canonical(row["event"])
        problem = None
        if row["position"] != position:
            problem = f"{where}: expected position {position}; an entry was removed or reordered"
        elif row["event_id"] <= last_event_id:
            problem = f"{where}: events are out of order"
        elif row["previous_hash"] != running:
            problem = f"{where}: does not follow the entry before it"
        elif wrong := _mac_holds(row["event__key_id"], content, row["event__mac"]):
            problem = f"{where}: {wrong}"
        elif chain_hash(running, content, row["event_id"]) != row["entry_hash"]:
            problem = f"{where}: its chain hash is wrong"
        elif (checkpoint := signed.get(position)) and not _checkpoint_holds(checkpoint, row["entry_hash"]):
            problem = f"{where}: the signed checkpoint here does not match; the chain was rewritten"
        result.events_checked += 1
        if problem:
            result.problems.append(problem)
            if stop_at_first:
                return result
        running, position, last_event_id = row["entry_hash"], row["position"], row["event_id"]
        result.last_position, result.last_event_id = position, last_event_id
    if segment.through is not None and position < segment.through and not result.problems:
        result.problems.append(
            f"position {position + 1}: missing, though the chain was signed up to {segment.through}: "
            "entries were deleted"
        )
    return result


def _checkpoint_holds(checkpoint: AuditCheckpoint, entry_hash: str) -> bool:
    try:
        expected = checkpoint_signature(checkpoint.position, checkpoint.entry_hash, checkpoint.key_id)
    except keys.UnknownKey:
        return False
    return checkpoint.entry_hash == entry_hash and checkpoint.signature == expected


def plan_segments(count: int) -> list[Segment]:
    """Up to `count` segments of about equal length, each starting at a signed checkpoint."""
    total = AuditSeal.objects.aggregate(end=Max("position"))["end"] or 0
    if count <= 1 or total == 0:
        return [Segment(0, None, GENESIS)]
    marks = list(AuditCheckpoint.objects.order_by("position").values_list("position", "entry_hash"))
    chosen: list[tuple[int, str]] = []
    for share in range(1, count):
        target = total * share // count
        best = None
        for mark in marks:  # the last checkpoint at or before the target
            if mark[0] > target:
                break
            best = mark
        if best and (not chosen or best[0] > chosen[-1][0]):
            chosen.append(best)
    starts = [(0, GENESIS), *chosen]
    ends: list[int | None] = [position for position, _ in chosen] + [None]
    return [Segment(after, through, start) for (after, start), through in zip(starts, ends, strict=True)]


def _parent_settings() -> dict[str, Any]:
    return {
        "DATABASES": {"default": connection.settings_dict},
        "CONTACTPOINT_AUDIT_KEY": getattr(settings, "CONTACTPOINT_AUDIT_KEY", ""),
        "CONTACTPOINT_AUDIT_KEY_FILE": getattr(settings, "CONTACTPOINT_AUDIT_KEY_FILE", ""),
    }


def _can_use_workers() -> bool:
    """Workers see only committed rows through their own connections: not an open transaction's
    (inside one, the segments are checked here instead), nor an in-memory SQLite database."""
    in_memory = getattr(connection, "is_in_memory_db", lambda: False)
    return not (connection.in_atomic_block or (connection.vendor == "sqlite" and in_memory()))


def verify_log(*, stop_at_first: bool = True, workers: int = 1) -> Verdict:
    """Verify everything; with workers > 1 the segments run in that many processes, each with
    its own database connection."""
    segments = plan_segments(workers * SEGMENTS_PER_WORKER if workers > 1 else 1)
    jobs = [(segment, stop_at_first) for segment in segments]
    if workers > 1 and len(segments) > 1 and _can_use_workers():
        # Spawned, not forked: a fresh interpreter inherits no locks, threads or connections.
        with ProcessPoolExecutor(
            max_workers=min(workers, len(segments)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=worker_start,
            initargs=(settings.SETTINGS_MODULE, _parent_settings()),
        ) as pool:
            results = list(pool.map(segment_check, *zip(*jobs, strict=True)))
    else:
        results = [verify_segment(segment, stop_at_first=stop_at_first) for segment, _ in jobs]
    verdict = Verdict(workers=workers)
    for result in results:
        verdict.events_checked += result.events_checked
        verdict.problems.extend(result.problems)
        verdict.processes.add(result.process or os.getpid())
    if stop_at_first and verdict.problems:
        del verdict.problems[1:]
        return verdict
    end = results[-1].last_position
    final = AuditCheckpoint.objects.aggregate(end=Max("position"))["end"] or 0
    if final > end:
        verdict.problems.append(
            f"the chain ends at position {end} but was signed up to {final}: entries were deleted"
        )
    last_event_id = max((r.last_event_id for r in results), default=0)
    _check_unsealed(verdict, last_event_id)
    return verdict


def _check_unsealed(verdict: Verdict, last_sealed_event_id: int) -> None:
    """Events not yet in the chain must be genuine, and newer than everything sealed."""
    for event in (
        AuditEvent.objects.filter(seal__isnull=True)
        .order_by("id")
        .values("id", "mac", "key_id", *HASHED_FIELDS)
        .iterator(chunk_size=CHUNK)
    ):
        verdict.events_checked += 1
        if _mac_holds(event["key_id"], canonical(event), event["mac"]):
            verdict.problems.append(f"event {event['id']} (not yet sealed): forged or altered")
        elif event["id"] < last_sealed_event_id:
            verdict.problems.append(f"event {event['id']} (not yet sealed): inserted behind the sealed chain")
        else:
            verdict.pending += 1
