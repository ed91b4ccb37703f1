"""Reads of linkage state: the links export, the review queue and the quality report."""

import datetime
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from contactpoint.access import permissions as p
from contactpoint.access.actors import Actor
from contactpoint.access.door import SEES_THROUGH_SHIELD
from contactpoint.access.models import Shield
from contactpoint.audit.models import EventType
from contactpoint.audit.services import audit_record
from contactpoint.feeds.models import FeedFile, FeedFileStatus, SourceRecord
from contactpoint.feeds.sources import BY_CODE as SOURCES_BY_CODE
from contactpoint.feeds.sources import SOURCES
from contactpoint.records import sealed
from contactpoint.records.models import (
    Child,
    ChildIdentifier,
    EducationSetting,
    GPRegistration,
    Involvement,
    Organisation,
    OrganisationKind,
)

from .model import COMPARISONS
from .models import ChildMerge, ReviewItem, ReviewStatus


def links_export_rows() -> Iterator[tuple[str, str, str]]:
    """Every loaded record with the ContactPoint ID of its child ('' while unlinked)."""
    rows = (
        SourceRecord.objects.order_by("source__code", "source_record_id")
        .values_list("source__code", "source_record_id", "child__contactpoint_id")
        .iterator(chunk_size=10_000)
    )
    for source, record_id, child in rows:
        yield source, record_id, child or ""


def quality_report(*, area: Organisation | None = None, now: datetime.datetime | None = None) -> dict:
    """Per source: records, linked, share with an NHS number, children they reach, stale records
    and the newest extract; and the review queue. With `area`, only what concerns that authority
    (`records_in_area`, and pairs where either child is known there)."""
    now = now or timezone.now()
    live = SourceRecord.objects.filter(withdrawn_at__isnull=True)
    if area is not None:
        live = live.filter(records_in_area(area))
    per_source = (
        live.values("source__code")
        .annotate(
            records=Count("pk"),
            linked=Count("pk", filter=Q(child__isnull=False)),
            with_nhs=Count("pk", filter=Q(has_nhs_number=True)),
            children=Count("child", distinct=True),
            stale=Count("pk", filter=_stale(now)),
        )
        .order_by("source__code")
    )
    latest = dict(
        FeedFile.objects.filter(status=FeedFileStatus.LOADED)
        .values("source__code")
        .annotate(latest=Max("extracted_at"))
        .values_list("source__code", "latest")
    )
    sources = []
    for row in per_source:
        total = row["records"] or 1
        declared = SOURCES_BY_CODE.get(row["source__code"])
        sources.append(
            {
                "source": row["source__code"],
                "records": row["records"],
                "match_rate": round(row["linked"] / total, 4),
                "nhs_number_share": round(row["with_nhs"] / total, 4),
                "children": row["children"],
                "stale": row["stale"],
                "stale_share": round(row["stale"] / total, 4),
                "stale_after_days": declared.stale_after_days if declared else None,
                "latest_extract": latest.get(row["source__code"]),
            }
        )
    open_items = ReviewItem.objects.filter(status=ReviewStatus.OPEN)
    if area is not None:
        open_items = _pairs_in_area(area, open_items, "child_a_id", "child_b_id")
    return {
        "sources": sources,
        "review_queue": open_items.count(),
        "review_guarded": open_items.exclude(reason__startswith="between").count(),
    }


def local_authorities() -> QuerySet[Organisation]:
    """The areas a data manager can choose between on the dashboard."""
    return Organisation.objects.filter(kind=OrganisationKind.LOCAL_AUTHORITY).order_by("name")


def _stale(now: datetime.datetime) -> Q:
    """Records whose source has given no new account of them for longer than it should (docs/feeds.md)."""
    stale = Q(pk__in=[])
    for source in SOURCES:
        cutoff = now - datetime.timedelta(days=source.stale_after_days)
        stale |= Q(source__code=source.code, asserted_at__lt=cutoff)
    return stale


def records_in_area(area: Organisation) -> Q:
    """Source records that concern an authority: from a source run in its area, naming a school, GP
    practice or service there, or linked to a child known there (as children_in_area decides)."""
    in_area = Q(organisation=area) | Q(organisation__local_authority=area)
    codes = list(
        Organisation.objects.filter(Q(pk=area.pk) | Q(local_authority=area)).values_list("code", flat=True)
    )
    child = OuterRef("child_id")
    live = {"superseded_at__isnull": True, "child_id": child}
    return cast(
        Q,
        Q(source__organisation=area)
        | Q(source__organisation__local_authority=area)
        | (Q(organisation_codes__regex=_any_code(codes)) if codes else Q(pk__in=[]))
        | Exists(EducationSetting.objects.filter(in_area, **live))
        | Exists(GPRegistration.objects.filter(in_area, **live))
        | Exists(Involvement.objects.filter(in_area, **live))
        | Exists(ChildIdentifier.objects.filter(issuer=area, scheme="upn", **live))
        | Exists(Shield.objects.filter(local_authority=area, ended_at__isnull=True, child_id=child)),
    )


def _any_code(codes: list[str]) -> str:
    """A pattern matching any of the codes as a whole word of `SourceRecord.organisation_codes`."""
    return r"(^| )(" + "|".join(re.escape(code) for code in codes) + r")( |$)"


def false_merge_estimate() -> dict[str, float]:
    """Expected wrong automatic links: each link's chance of being wrong, from its evidence.

    Uses the model's prior for a random pair, so it over-states the risk for blocked candidates;
    read it as an upper bound that should stay far below one per thousand children.
    """
    from .models import How, RecordLink
    from .scoring import current_model

    model = current_model()
    risk = 0.0
    links = 0
    evidences = RecordLink.objects.filter(how=How.AUTO, evidence__isnull=False).values_list(
        "evidence", flat=True
    )
    for evidence in evidences:
        risk += 1 - model.probability(evidence or 0.0)
        links += 1
    return {"automatic_links": links, "expected_wrong_links": round(risk, 3)}


# -- the review queue, as the management team's pages read it ----------------------------------
#
# A reviewer sees children's details here without opening their records through the door: the
# pair's source records are the evidence they decide on. So these selectors check the reviewer's
# permission and area themselves, show statutory items only (identifiers as present or not,
# never their values; a shielded child's address only to those who may see through the shield),
# and audit every showing of a pair as a view of both children, in the same transaction.

REVIEW_REASON = "linkage review"


def _may_review(actor: Actor) -> None:
    if not actor.can(p.REVIEW_LINKAGE):
        raise PermissionDenied(f"The {actor.role} role cannot review linkage.")


def sees_every_area(actor: Actor) -> bool:
    """Data managers run the national feeds and linkage: their queue is the whole index's."""
    return actor.can(p.MANAGE_FEEDS)


def children_in_area(local_authority: Organisation, *, among: Collection[int]) -> set[int]:
    """Which of `among` (child keys) an authority's team may review: any child with a live source
    record from a source its area owns, a school, GP practice or service in its area, a UPN it
    issued, or its shield.

    Source records carry no authority of their own (postcodes are not mapped to areas), so the
    area is read from where the child is known: that is where a wrong merge would be noticed.
    Each test is limited to `among` so it runs on the child indexes, not over the whole area.
    """
    among = list(among)
    in_area = Q(organisation=local_authority) | Q(organisation__local_authority=local_authority)
    live = {"superseded_at__isnull": True, "child_id__in": among}
    tests = (
        SourceRecord.objects.filter(
            Q(source__organisation=local_authority)
            | Q(source__organisation__local_authority=local_authority),
            withdrawn_at__isnull=True,
            child_id__in=among,
        ),
        EducationSetting.objects.filter(in_area, **live),
        GPRegistration.objects.filter(in_area, **live),
        Involvement.objects.filter(in_area, **live),
        ChildIdentifier.objects.filter(issuer=local_authority, scheme="upn", **live),
        Shield.objects.filter(local_authority=local_authority, ended_at__isnull=True, child_id__in=among),
    )
    found: set[int] = set()
    for query in tests:
        found.update(query.values_list("child_id", flat=True).distinct())
    return found


def _in_scope(actor: Actor, queryset: QuerySet, a: str, b: str) -> QuerySet:
    """Pairs (review items or merges) where either child is in the actor's area, or all of them."""
    if sees_every_area(actor):
        return queryset
    return _pairs_in_area(actor.local_authority, queryset, a, b)


def _pairs_in_area(local_authority: Organisation, queryset: QuerySet, a: str, b: str) -> QuerySet:
    pairs = queryset.values_list(a, b)
    area = children_in_area(local_authority, among={x for pair in pairs for x in pair})
    return queryset.filter(Q(**{f"{a}__in": area}) | Q(**{f"{b}__in": area}))


def review_queue_for(*, actor: Actor) -> QuerySet[ReviewItem]:
    """Open review items this reviewer may decide, oldest first."""
    _may_review(actor)
    return (
        _in_scope(actor, ReviewItem.objects.filter(status=ReviewStatus.OPEN), "child_a_id", "child_b_id")
        .select_related("child_a", "child_b")
        .order_by("created_at", "pk")
    )


def review_item_for(*, actor: Actor, pk: int) -> ReviewItem | None:
    """One review item (open or decided) if it is in this reviewer's scope."""
    _may_review(actor)
    return (
        _in_scope(actor, ReviewItem.objects.filter(pk=pk), "child_a_id", "child_b_id")
        .select_related("child_a", "child_b")
        .first()
    )


def _merges_in_scope(actor: Actor) -> QuerySet[ChildMerge]:
    _may_review(actor)
    in_force = ChildMerge.objects.filter(undone_at__isnull=True)
    return _in_scope(actor, in_force, "survivor_id", "merged_id").select_related("survivor", "merged", "by")


def merges_recent_for(*, actor: Actor, limit: int = 50) -> list[ChildMerge]:
    """Merges still in force in this reviewer's scope, newest first: the ones that can be split."""
    return list(_merges_in_scope(actor).order_by("-at", "-pk")[:limit])


def merge_for(*, actor: Actor, pk: int) -> ChildMerge | None:
    """One merge still in force, if it is in this reviewer's scope."""
    return _merges_in_scope(actor).filter(pk=pk).first()


@dataclass(frozen=True)
class SourceRecordView:
    """One source record's statutory items, as a reviewer compares them."""

    source: str
    source_record_id: str
    matched: bool  # the record the model compared with the other child's
    given_name: str
    middle_names: str
    family_name: str
    former_family_name: str
    date_of_birth: datetime.date | None
    gender: str
    address: str | None  # None: hidden by a shield this reviewer cannot see through
    has_nhs_number: bool
    has_upn: bool


@dataclass(frozen=True)
class ReviewSide:
    contactpoint_id: str
    shielded: bool
    address_hidden: bool
    records: list[SourceRecordView]


@dataclass(frozen=True)
class WeightView:
    comparison: str
    level: str
    weight: float


@dataclass(frozen=True)
class ReviewPair:
    item_pk: int
    status: str
    reason: str
    evidence: float
    model_version: str
    created_at: datetime.datetime
    a: ReviewSide
    b: ReviewSide
    weights: list[WeightView] = field(default_factory=list)


def review_pair_for(*, actor: Actor, item: ReviewItem, reason: str = REVIEW_REASON) -> ReviewPair:
    """The pair side by side, with the model's evidence field by field; audited as a view of both."""
    _may_review(actor)
    if not reason.strip():
        raise ValidationError("A reason is required before two children's records are shown.")
    with transaction.atomic():
        pair = ReviewPair(
            item_pk=item.pk,
            status=item.status,
            reason=item.reason,
            evidence=item.evidence,
            model_version=item.model_version,
            created_at=item.created_at,
            a=_side(actor, item.child_a, matched=item.record_a_id),
            b=_side(actor, item.child_b, matched=item.record_b_id),
            weights=_weights(item.weights),
        )
        audit_record(
            event_type=EventType.VIEW,
            actor=actor,
            child_ids=[item.child_a.contactpoint_id, item.child_b.contactpoint_id],
            reason=reason.strip(),
            details={"review_item": item.pk},
        )
    return pair


def _side(actor: Actor, child: Child, *, matched: int) -> ReviewSide:
    shield = (
        Shield.objects.filter(child=child, ended_at__isnull=True).select_related("local_authority").first()
    )
    hidden = shield is not None and not SEES_THROUGH_SHIELD.allows(actor, shield)
    records = sealed.values_opened(
        SourceRecord.objects.filter(child=child, withdrawn_at__isnull=True).order_by(
            "source__authority_rank", "pk"
        ),
        "source__name",
        "source_record_id",
        "gender",
        *SourceRecord.SEALED,
        limit=20,
    )
    return ReviewSide(
        contactpoint_id=child.contactpoint_id,
        shielded=shield is not None,
        address_hidden=hidden,
        records=[_record_view(r, matched=r["pk"] == matched, hidden=hidden) for r in records],
    )


def _record_view(record: dict, *, matched: bool, hidden: bool) -> SourceRecordView:
    address = ", ".join(
        part for part in (record["address_line_1"], record["town"], record["postcode"]) if part
    )
    return SourceRecordView(
        source=record["source__name"],
        source_record_id=record["source_record_id"],
        matched=matched,
        given_name=record["given_name"],
        middle_names=record["middle_names"],
        family_name=record["family_name"],
        former_family_name=record["former_family_name"],
        date_of_birth=record["date_of_birth"],
        gender=record["gender"],
        address=None if hidden else address,
        has_nhs_number=bool(record["nhs_number"]),
        has_upn=bool(record["upn"]),
    )


def _weights(stored: dict) -> list[WeightView]:
    """In the model's order (a JSON column need not keep it)."""
    order = [c.name for c in COMPARISONS]
    names = sorted(stored, key=lambda n: order.index(n) if n in order else len(order))
    return [WeightView(name, str(stored[name][0]), float(stored[name][1])) for name in names]
