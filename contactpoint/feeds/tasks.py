"""Feed loads as background tasks, for files that arrive over HTTPS or by drop folder."""

import datetime
from pathlib import Path

from django.tasks import task

from .services import feed_load


@task()
def load_feed_task(source_code: str, path: str, extracted_at: str | None = None) -> dict:
    """Arguments are plain strings so the task survives serialisation into the queue table."""
    when = datetime.datetime.fromisoformat(extracted_at) if extracted_at else None
    result = feed_load(source_code=source_code, path=Path(path), extracted_at=when)
    return {"feed_file": result.feed_file.pk, "already_loaded": result.already_loaded, **result.report}
