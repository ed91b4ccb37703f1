"""Fold involvements recorded through the API (`involvement-<uuid>`, one row per call) into the
pages' model: one live involvement per user and child, `user-<user id>-<ContactPoint ID>` under the
organisation's users' source (ADR 0014).

The user who recorded each row is in its `involvement_started` audit event (`details.involvement`,
`actor_user_id`). Every row of a user and child takes that user's source record id, so an id a
caller stored leads to the live row; of the rows that were live, the one last asserted or changed
stays live and the others are superseded now. A row whose recording event cannot be found is left
as it is (reported on stdout). Nothing is deleted, so the fold is not undone in reverse.
"""

import datetime
from collections import defaultdict

from django.db import migrations
from django.utils import timezone

USERS_SOURCE_PREFIX = "contactpoint-users-"
API_RECORD_PREFIX = "involvement-"
CHUNK = 2000


def _touched(apps, pks: list[int]) -> tuple[dict[int, int], dict[int, datetime.datetime]]:
    """(involvement -> the user who recorded it, involvement -> its last recorded change)."""
    AuditEvent = apps.get_model("audit", "AuditEvent")
    wanted = set(pks)
    creators: dict[int, int] = {}
    changed: dict[int, datetime.datetime] = {}
    events = AuditEvent.objects.filter(
        event_type="change",
        outcome="success",
        details__action__in=["involvement_started", "involvement_changed"],
    ).values_list("details", "actor_user_id", "occurred_at")
    for details, user_id, occurred_at in events.iterator(chunk_size=CHUNK):
        involvement = details.get("involvement") if isinstance(details, dict) else None
        if involvement not in wanted:
            continue
        if details.get("action") == "involvement_started" and user_id is not None:
            creators[involvement] = user_id
        changed[involvement] = max(occurred_at, changed.get(involvement, occurred_at))
    return creators, changed


def _groups(apps) -> tuple[dict[tuple, list[dict]], list[int]]:
    """API rows by (source, child, ContactPoint ID, user), and those whose user is not known."""
    Involvement = apps.get_model("records", "Involvement")
    rows = list(
        Involvement.objects.filter(
            source__code__startswith=USERS_SOURCE_PREFIX, source_record_id__startswith=API_RECORD_PREFIX
        ).values("pk", "source_id", "child_id", "child__contactpoint_id", "asserted_at", "superseded_at")
    )
    creators, changed = _touched(apps, [row["pk"] for row in rows])
    groups: dict[tuple, list[dict]] = defaultdict(list)
    unknown = []
    for row in rows:
        user_id = creators.get(row["pk"])
        if user_id is None:
            unknown.append(row["pk"])
            continue
        row["last"] = max(row["asserted_at"], changed.get(row["pk"], row["asserted_at"]))
        groups[(row["source_id"], row["child_id"], row["child__contactpoint_id"], user_id)].append(row)
    return groups, unknown


def fold_api_involvements(apps, schema_editor) -> None:
    Involvement = apps.get_model("records", "Involvement")
    groups, unknown = _groups(apps)
    now = timezone.now()
    for (source_id, child_id, contactpoint_id, user_id), rows in groups.items():
        record_id = f"user-{user_id}-{contactpoint_id}"
        pages = Involvement.objects.filter(
            source_id=source_id, child_id=child_id, source_record_id=record_id, superseded_at__isnull=True
        ).values("pk", "asserted_at", "superseded_at")
        candidates = [r for r in rows if r["superseded_at"] is None] + [
            {**r, "last": r["asserted_at"]} for r in pages
        ]
        keep = max(candidates, key=lambda r: (r["last"], r["pk"]))["pk"] if candidates else None
        Involvement.objects.filter(pk__in=[r["pk"] for r in rows]).update(source_record_id=record_id)
        older = [r["pk"] for r in candidates if r["pk"] != keep]
        Involvement.objects.filter(pk__in=older).update(superseded_at=now)
    if unknown:
        print(f"\n  {len(unknown)} API-recorded involvement(s) left as they were (no recording event): {unknown[:20]}")


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0004_identifier_unique_live"),
        ("audit", "0006_report_indexes"),
    ]

    operations = [migrations.RunPython(fold_api_involvements, migrations.RunPython.noop)]
