"""Writes for feeds: registering sources, loading files."""

import datetime
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from contactpoint.records.models import Organisation, OrganisationKind, Source
from contactpoint.records.services import declared_row_sync

from .loader import FeedLoad, LoadResult
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
