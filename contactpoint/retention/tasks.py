"""Retention for the task queue: schedule daily (the run is idempotent)."""

import datetime

from django.tasks import task
from django.utils import timezone

from .services import retention_apply


@task()
def apply_retention_task(today: str = "") -> dict[str, int]:
    day = datetime.date.fromisoformat(today) if today else timezone.localdate()
    report = retention_apply(today=day)
    return {"archived": report.count("archive"), "destroyed": report.count("destroy")}
