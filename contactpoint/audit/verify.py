"""Checking the whole log: every event's MAC, the chain's order and hashes, and every checkpoint."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from . import keys
from .models import AuditCheckpoint, AuditEvent, AuditSeal
from .services import GENESIS, HASHED_FIELDS, canonical, chain_hash, checkpoint_signature

CHUNK = 20_000


@dataclass
class Verdict:
    events_checked: int = 0
    pending: int = 0  # settled into the log but not yet sealed into the chain
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _sealed() -> Iterator[dict]:
    columns = [f"event__{f}" for f in HASHED_FIELDS]
    rows = AuditSeal.objects.order_by("position").values(
        "position", "previous_hash", "entry_hash", "event_id", "event__mac", *columns
    )
    for row in rows.iterator(chunk_size=CHUNK):
        event = {f: row[f"event__{f}"] for f in HASHED_FIELDS}
        yield row | {"event": event}


def verify_log(*, stop_at_first: bool = True) -> Verdict:
    verdict = Verdict()
    checkpoints = {c.position: c for c in AuditCheckpoint.objects.all()}
    running, position, last_event_id = GENESIS, 0, 0
    for row in _sealed():
        position += 1
        where = f"position {row['position']} (event {row['event_id']})"
        problem = None
        content = canonical(row["event"])
        if row["position"] != position:
            problem = f"{where}: expected position {position}; an entry was removed or reordered"
        elif row["event_id"] <= last_event_id:
            problem = f"{where}: events are out of order"
        elif row["previous_hash"] != running:
            problem = f"{where}: does not follow the entry before it"
        elif keys.sign(content) != row["event__mac"]:
            problem = f"{where}: the event's content has been altered"
        elif chain_hash(running, content, row["event_id"]) != row["entry_hash"]:
            problem = f"{where}: its chain hash is wrong"
        elif (checkpoint := checkpoints.get(position)) and not _checkpoint_holds(
            checkpoint, row["entry_hash"]
        ):
            problem = f"{where}: the signed checkpoint here does not match; the chain was rewritten"
        verdict.events_checked += 1
        if problem:
            verdict.problems.append(problem)
            if stop_at_first:
                return verdict
        running, position, last_event_id = row["entry_hash"], row["position"], row["event_id"]
    if checkpoints and max(checkpoints) > position:
        verdict.problems.append(
            f"the chain ends at position {position} but was signed up to {max(checkpoints)}: "
            "entries were deleted"
        )
    _check_unsealed(verdict, last_event_id)
    return verdict


def _checkpoint_holds(checkpoint: AuditCheckpoint, entry_hash: str) -> bool:
    return checkpoint.entry_hash == entry_hash and checkpoint.signature == checkpoint_signature(
        checkpoint.position, checkpoint.entry_hash
    )


def _check_unsealed(verdict: Verdict, last_sealed_event_id: int) -> None:
    """Events not yet in the chain must be genuine, and newer than everything sealed."""
    for event in (
        AuditEvent.objects.filter(seal__isnull=True)
        .order_by("id")
        .values("id", "mac", *HASHED_FIELDS)
        .iterator(chunk_size=CHUNK)
    ):
        verdict.events_checked += 1
        if keys.sign(canonical(event)) != event["mac"]:
            verdict.problems.append(f"event {event['id']} (not yet sealed): forged or altered")
        elif event["id"] < last_sealed_event_id:
            verdict.problems.append(f"event {event['id']} (not yet sealed): inserted behind the sealed chain")
        else:
            verdict.pending += 1
