"""Applying the retention policy: archive when due, destroy six years later, and record both.

Every decision is an audit event written in the transaction that makes it. The run is
idempotent: dates come from the policy (a child due on their 18th birthday is archived as of that
day however late the job runs), so running it twice, or a day late, changes nothing more.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from django.apps import apps
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.door import responsible_team_required
from contactpoint.audit.criteria import criteria_keys_expire
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.feeds.models import DataQualityWarning, QuarantinedRow, SourceRecord
from contactpoint.records import sealed
from contactpoint.records.models import Child, ChildBirthDate

from . import policy
from .models import (
    ArchiveBasis,
    ChildDataKey,
    ChildRetention,
    Destruction,
    RetentionConsent,
    RetentionState,
)
from .tombstones import tombstones_write

SYSTEM = "apply_retention"


@dataclass(frozen=True)
class Decision:
    contactpoint_id: str
    child_id: int
    action: str  # "archive" or "destroy"
    basis: str
    on: datetime.date  # the date the policy set for it


@dataclass
class RetentionReport:
    today: datetime.date
    simulated: bool
    decisions: list[Decision] = field(default_factory=list)
    rows: Counter[str] = field(default_factory=Counter)
    no_birth_date: int = 0
    criteria_years_destroyed: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return sum(1 for d in self.decisions if d.action == action)


def archive_due(
    *, born: datetime.date | None, consent: str, died_on: datetime.date | None
) -> tuple[datetime.date, str] | None:
    """When the policy archives a child, and on what basis (None: no date can be set yet)."""
    if died_on is not None:
        return policy.years_after(died_on, policy.LIVE_AFTER_DEATH_YEARS), ArchiveBasis.AFTER_DEATH
    if born is None:
        return None
    if consent in policy.CONSENTS:
        return policy.years_after(born, policy.CONSENTED_LIVE_TO_AGE), ArchiveBasis.AGE_25
    return policy.years_after(born, policy.ARCHIVE_AT_AGE), ArchiveBasis.AGE_18


def destroy_due(archived_on: datetime.date) -> datetime.date:
    return policy.years_after(archived_on, policy.DESTROY_AFTER_ARCHIVE_YEARS)


@dataclass
class _Facts:
    """What the lifecycle is decided from: each child's state, chosen birth date, and the consent a
    source reported (a consent recorded here wins over it)."""

    states: dict[int, ChildRetention]
    born: dict[int, datetime.date | None]  # None: born too recently to be due (not opened)
    source_consent: dict[int, str]

    def archive_due(self, pk: int) -> tuple[datetime.date, str] | Literal["later"] | None:
        """The date and basis; None when no date can be set; "later" when none is due this year."""
        state = self.states.get(pk)
        died_on = state.died_on if state else None
        if died_on is None and pk in self.born and self.born[pk] is None:
            return "later"
        consent = (state.consent if state else "") or self.source_consent.get(pk, "")
        return archive_due(born=self.born.get(pk), consent=consent, died_on=died_on)


def _facts(child_pks: list[int] | None = None, *, today: datetime.date | None = None) -> _Facts:
    """Everyone's facts (None), or only these children's.

    Birth dates are sealed: with `today`, only the children born in a year that can make them due
    (the clear year of birth) are opened, and the others count as born too recently to be due.
    """
    which = Q() if child_pks is None else Q(child_id__in=child_pks)
    chosen = ChildBirthDate.objects.filter(which, is_chosen=True)
    born: dict[int, datetime.date | None] = dict.fromkeys(chosen.values_list("child_id", flat=True))
    if today is not None:
        chosen = chosen.filter(year_of_birth__lte=today.year - policy.ARCHIVE_AT_AGE)
    born.update((row["child_id"], row["date_of_birth"]) for row in sealed.values_opened(chosen, "child_id"))
    return _Facts(
        states={r.child_id: r for r in ChildRetention.objects.filter(which)},
        born=born,
        source_consent=dict(
            SourceRecord.objects.filter(which, withdrawn_at__isnull=True, child__isnull=False)
            .exclude(retention_consent="")
            .values_list("child_id", "retention_consent")
        ),
    )


def retention_plan(*, today: datetime.date) -> tuple[list[Decision], int]:
    """What the policy requires today, and how many live children have no date to decide by."""
    facts = _facts(today=today)
    states = facts.states
    decisions: list[Decision] = []
    undecidable = 0
    for pk, contactpoint_id in Child.objects.filter(merged_into__isnull=True).values_list(
        "pk", "contactpoint_id"
    ):
        state = states.get(pk)
        if state is not None and state.state == RetentionState.ARCHIVED:
            assert state.archived_on is not None
            due = destroy_due(state.archived_on)
            if due <= today:
                decisions.append(Decision(contactpoint_id, pk, "destroy", "archived_six_years", due))
            continue
        archive = facts.archive_due(pk)
        if archive is None:
            undecidable += 1
        elif archive != "later" and archive[0] <= today:
            decisions.append(Decision(contactpoint_id, pk, "archive", archive[1], archive[0]))
    return decisions, undecidable


def retention_apply(*, today: datetime.date, simulate: bool = False) -> RetentionReport:
    """Archive and destroy what the policy says is due. With `simulate`, everything is done inside a
    transaction that is then rolled back, so the report is exactly what a real run would do."""
    report = RetentionReport(today=today, simulated=simulate)
    with transaction.atomic():
        decisions, report.no_birth_date = retention_plan(today=today)
        for decision in decisions:
            if decision.action == "archive":
                _archive(decision)
            else:
                report.rows.update(_destroy(decision, reason="retention"))
            report.decisions.append(decision)
        report.criteria_years_destroyed = criteria_keys_expire(today=today)
        if simulate:
            transaction.set_rollback(True)
    return report


def _archive(decision: Decision) -> None:
    ChildRetention.objects.update_or_create(
        child_id=decision.child_id,
        defaults={
            "state": RetentionState.ARCHIVED,
            "archived_on": decision.on,
            "archive_basis": decision.basis,
        },
    )
    audit_record(
        event_type=EventType.ADMIN,
        username=SYSTEM,
        child_ids=[decision.contactpoint_id],
        reason="Retention policy: archive",
        details={"retention": "archive", "basis": decision.basis, "archived_on": decision.on.isoformat()},
    )


CHUNK = 2000


def children_archive_left_scope(*, child_pks: list[int], on: datetime.date) -> None:
    """Archive children a targeted deployment no longer holds (domain.md section 1), under the
    retention rules like any other archive: from `on`, data managers see them for a year, the
    grounds after, and destruction is due six years later. Children already archived (on any
    basis) keep their date and basis. The scope review audits what it archives."""
    for start in range(0, len(child_pks), CHUNK):
        chunk = child_pks[start : start + CHUNK]
        ChildRetention.objects.filter(child_id__in=chunk, state=RetentionState.LIVE).update(
            state=RetentionState.ARCHIVED, archived_on=on, archive_basis=ArchiveBasis.LEFT_SCOPE
        )
        held = set(ChildRetention.objects.filter(child_id__in=chunk).values_list("child_id", flat=True))
        ChildRetention.objects.bulk_create(
            ChildRetention(
                child_id=pk,
                state=RetentionState.ARCHIVED,
                archived_on=on,
                archive_basis=ArchiveBasis.LEFT_SCOPE,
            )
            for pk in chunk
            if pk not in held
        )


def children_restore_to_scope(*, child_pks: list[int], today: datetime.date) -> list[int]:
    """Make live again children archived only for leaving the targeted scope, now known to services
    again; returns those restored. A record archived by age or after a death is never restored
    here, nor one the policy would archive by now anyway (it turned 18 meanwhile): it stays
    archived from the earlier date, which keeps its destruction clock. The scope review audits."""
    candidates = list(
        ChildRetention.objects.filter(
            child_id__in=child_pks, state=RetentionState.ARCHIVED, archive_basis=ArchiveBasis.LEFT_SCOPE
        ).values_list("child_id", flat=True)
    )
    facts = _facts(candidates)
    restored = [
        pk for pk in candidates if not ((due := facts.archive_due(pk)) and due != "later" and due[0] <= today)
    ]
    for start in range(0, len(restored), CHUNK):
        ChildRetention.objects.filter(child_id__in=restored[start : start + CHUNK]).update(
            state=RetentionState.LIVE, archived_on=None, archive_basis=""
        )
    return restored


def _destroy(decision: Decision, *, reason: str) -> Counter[str]:
    state = ChildRetention.objects.filter(child_id=decision.child_id).first()
    key = ChildDataKey.objects.filter(child_id=decision.child_id).values_list("key_id", flat=True).first()
    rows = children_destroy(child_pks={decision.child_id})
    Destruction.objects.create(
        contactpoint_id=decision.contactpoint_id,
        archived_on=state.archived_on if state else None,
        destroyed_at=timezone.now(),
        rows=dict(rows),
        key_id=key or "",
        reason=reason,
    )
    audit_record(
        event_type=EventType.ADMIN,
        username=SYSTEM,
        child_ids=[decision.contactpoint_id],
        reason=f"Retention policy: destroy ({reason})",
        details={"retention": "destroy", "basis": decision.basis, "rows": dict(rows), "key_id": key or ""},
    )
    return rows


def children_destroy(*, child_pks: set[int]) -> Counter[str]:
    """Remove every row holding these children's data, rule by rule (policy.RULES), and return the
    rows removed per model (and the tombstones left). Merged duplicates go with their survivor.
    Callers audit."""
    pks = set(child_pks)
    while True:  # duplicates merged into these children are the same people
        more = set(Child.objects.filter(merged_into__in=pks).exclude(pk__in=pks).values_list("pk", flat=True))
        if not more:
            break
        pks |= more
    rows: Counter[str] = Counter()
    # Before the records go: what would let a feed bring these children back (tombstones.py).
    rows["retention.Tombstone (left)"] += tombstones_write(child_pks=pks, on=timezone.localdate())
    # Rows held back from a load, and warnings about values left out of one, carry no link to a
    # child; they are the child's by source record id.
    records = SourceRecord.objects.filter(child_id__in=pks).values_list("source_id", "source_record_id")
    theirs = Q(pk__in=[])
    for source_id, srid in records:
        theirs |= Q(file__source_id=source_id, source_record_id=srid)
    rows.update(_deleted(QuarantinedRow.objects.filter(theirs)))
    rows.update(_deleted(DataQualityWarning.objects.filter(theirs)))
    for rule in policy.RULES:
        model = apps.get_model(rule.model)
        if rule.on_destroy == policy.OnDestroy.WITH_CHILD:
            continue
        if rule.lookup == "pk":
            # Duplicates first: a child protects the rows merged into it.
            for merged_first in (True, False):
                rows.update(_deleted(model.objects.filter(pk__in=pks, merged_into__isnull=not merged_first)))
            continue
        matching = model.objects.filter(**{f"{rule.lookup}__in": pks})
        if rule.on_destroy == policy.OnDestroy.DETACH:
            rows[f"{rule.model}.{rule.relation} (cleared)"] += matching.update(**{rule.relation: None})
        else:
            rows.update(_deleted(matching))
    return +rows


def _deleted(queryset) -> Counter[str]:
    _, per_model = queryset.delete()
    return Counter({label: n for label, n in per_model.items() if n})


def retention_consent_record(
    *, actor: Actor, child: Child, consent: str, evidence: str = ""
) -> ChildRetention:
    """Recorded consent keeps a young person live to 25 (care leavers, SEN). Only the team of the
    authority responsible for the child records it; a refusal is audited."""
    responsible_team_required(
        actor,
        child,
        permission=p.RECORD_RETENTION,
        event_type=EventType.CHANGE,
        doing="record consent for it",
    )
    if consent not in RetentionConsent.values:
        raise ValueError(f"{consent!r} is not a retention consent: use one of {', '.join(policy.CONSENTS)}.")
    with transaction.atomic():
        state, _ = ChildRetention.objects.get_or_create(child=child)
        state.consent = consent
        state.consent_evidence = " ".join(evidence.split())[:200]
        state.consent_recorded_at = timezone.now()
        state.consent_recorded_by_id = actor.user_id
        state.save()
        audit_record(
            event_type=EventType.CHANGE,
            actor=actor,
            child_ids=[child.contactpoint_id],
            reason="Retention consent recorded",
            details={"retention": "consent", "consent": consent},
        )
    return state


def child_death_record(*, actor: Actor, child: Child, died_on: datetime.date, source: str) -> ChildRetention:
    """The record stays live one year after a child's death (for the child death review), then
    archives. Who told the team is kept with the date. Only the team of the authority responsible
    for the child records it; a refusal is audited."""
    responsible_team_required(
        actor,
        child,
        permission=p.RECORD_RETENTION,
        event_type=EventType.CHANGE,
        doing="record a death for it",
    )
    if died_on > timezone.localdate():
        raise ValueError("A date of death cannot be in the future.")
    if not source.strip():
        raise ValueError("Say who told you of the death.")
    with transaction.atomic():
        state, _ = ChildRetention.objects.get_or_create(child=child)
        state.died_on = died_on
        state.died_source = " ".join(source.split())[:200]
        state.died_recorded_at = timezone.now()
        state.died_recorded_by_id = actor.user_id
        state.save()
        audit_record(
            event_type=EventType.CHANGE,
            actor=actor,
            child_ids=[child.contactpoint_id],
            reason="Death recorded",
            details={"retention": "death", "died_on": died_on.isoformat()},
        )
    return state
