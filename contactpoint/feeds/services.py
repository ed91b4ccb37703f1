"""Writes for feeds: registering sources, loading files, files sent over HTTPS (API or pages)."""

import datetime
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contactpoint.records.models import Organisation, OrganisationKind, Source
from contactpoint.records.services import declared_row_sync

from .loader import FeedLoad, LoadResult
from .models import FeedFileStatus, LoadKey, SourceRecord, SourceRecordVersion
from .sources import SOURCES


@transaction.atomic
def sources_sync() -> tuple[int, int]:
    """Make the Source rows match sources.py; idempotent. Returns (created, updated)."""
    outcomes: Counter[str] = Counter()
    for definition in SOURCES:
        owner, _ = Organisation.objects.get_or_create(
            kind=OrganisationKind.NATIONAL_BODY,
            code=definition.owner_code,
            defaults={"name": definition.owner_name, "accredited": True},
        )
        wanted = {
            "name": definition.name,
            "organisation": owner,
            "obligation": definition.obligation,
            "authority_rank": definition.authority_rank,
            "identifiers_private": definition.identifiers_private,
            "allowed_columns": list(definition.extra_columns),
        }
        outcomes[declared_row_sync(model=Source, key={"code": definition.code}, wanted=wanted)] += 1
    return outcomes["created"], outcomes["updated"]


def feed_load(
    *,
    source_code: str,
    path: Path,
    format_name: str | None = None,
    extracted_at: datetime.datetime | None = None,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> LoadResult:
    """Validate and load one file. Re-loading a loaded file is a no-op; a half-done one resumes."""
    source = Source.objects.get(code=source_code)
    if extracted_at is not None and timezone.is_naive(extracted_at):
        extracted_at = timezone.make_aware(extracted_at)  # a time without a zone is local (UK) time
    return FeedLoad(
        source=source,
        path=path,
        format_name=format_name,
        extracted_at=extracted_at,
        progress=progress,
        workers=workers,
    ).run()


def feed_upload_keep(*, upload: Any, source_code: str) -> Path:
    """Feed files are kept (the feed file record points at them); the name is ours, not the sender's."""
    folder = Path(settings.CONTACTPOINT_FEED_UPLOAD_DIR) / source_code
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(upload.name or "").suffix.lower()
    if suffix not in {".csv", ".jsonl"}:
        suffix = ".csv"
    path = folder / f"{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}{suffix}"
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            handle.write(chunk)
    return path


@dataclass(frozen=True)
class Submission:
    """A sent file: loaded while the sender waited (`loaded`), or queued (`task_id`)."""

    loaded: LoadResult | None
    task_id: str | None


def feed_submit(
    *, source_code: str, upload: Any, extracted_at: datetime.datetime | None = None
) -> Submission:
    """Keep and load a file sent over HTTPS: small files at once, larger ones as a background task.

    The caller has checked that the sender may submit for the source (selectors.MAY_SUBMIT_FEED).
    Raises ValidationError for a file larger than the service accepts, and the loader's
    UnreadableFile for one it cannot read at all.
    """
    from .tasks import load_feed_task  # the task module imports this one

    if upload.size > settings.CONTACTPOINT_API_FEED_MAX_BYTES:
        raise ValidationError("The file is larger than this service accepts.")
    path = feed_upload_keep(upload=upload, source_code=source_code)
    if upload.size > settings.CONTACTPOINT_API_FEED_SYNC_MAX_BYTES:
        when = extracted_at.isoformat() if extracted_at else None
        return Submission(None, str(load_feed_task.enqueue(source_code, str(path), when).id))
    return Submission(feed_load(source_code=source_code, path=path, extracted_at=extracted_at), None)


def load_keys_release() -> int:
    """Delete the load keys no feed row is sealed under any more (every row of the file re-sealed
    under its child's key, or gone), except a loading file's: its rows are still being written.
    Run at the end of every link run; idempotent. Returns how many were deleted."""
    used: set[int] = set()
    for model in (SourceRecord, SourceRecordVersion):
        used.update(
            model.objects.filter(load_key__isnull=False).values_list("load_key", flat=True).distinct()
        )
    unused = LoadKey.objects.exclude(pk__in=used).exclude(file__status=FeedFileStatus.LOADING)
    return unused.delete()[0]
