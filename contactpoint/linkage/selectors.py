"""Reads of linkage state: the links export, the review queue and the quality report."""

from collections.abc import Iterator

from django.db.models import Count, Q

from contactpoint.feeds.models import SourceRecord

from .models import ReviewItem, ReviewStatus


def links_export_rows() -> Iterator[tuple[str, str, str]]:
    """Every loaded record with the ContactPoint ID of its child ('' while unlinked)."""
    rows = (
        SourceRecord.objects.order_by("source__code", "source_record_id")
        .values_list("source__code", "source_record_id", "child__contactpoint_id")
        .iterator(chunk_size=10_000)
    )
    for source, record_id, child in rows:
        yield source, record_id, child or ""


def quality_report() -> dict:
    """Per source: records, linked, share with an NHS number, children they reach; and the queue."""
    live = SourceRecord.objects.filter(withdrawn_at__isnull=True)
    per_source = (
        live.values("source__code")
        .annotate(
            records=Count("pk"),
            linked=Count("pk", filter=Q(child__isnull=False)),
            with_nhs=Count("pk", filter=~Q(nhs_number="")),
            children=Count("child", distinct=True),
        )
        .order_by("source__code")
    )
    sources = []
    for row in per_source:
        total = row["records"] or 1
        sources.append(
            {
                "source": row["source__code"],
                "records": row["records"],
                "match_rate": round(row["linked"] / total, 4),
                "nhs_number_share": round(row["with_nhs"] / total, 4),
                "children": row["children"],
            }
        )
    open_items = ReviewItem.objects.filter(status=ReviewStatus.OPEN)
    return {
        "sources": sources,
        "review_queue": open_items.count(),
        "review_guarded": open_items.exclude(reason__startswith="between").count(),
    }


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
