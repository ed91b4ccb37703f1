"""What a verification worker process runs. Importing this module touches no models, so a
freshly spawned interpreter can unpickle its jobs before Django is set up (in `worker_start`)."""

import os
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Segment:
    """Positions (after, through]; `through` None runs to the end of the chain."""

    after: int
    through: int | None
    start_hash: str


@dataclass
class SegmentResult:
    events_checked: int = 0
    problems: list[str] = field(default_factory=list)
    last_position: int = 0
    last_event_id: int = 0
    process: int = 0  # the id of the process that checked it


def worker_start(settings_module: str, overrides: dict[str, Any]) -> None:
    """Set up Django as the parent has it: its settings module, database and audit keyring."""
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.conf import settings

    for name, value in overrides.items():  # before setup: nothing has read them yet
        setattr(settings, name, value)
    django.setup()


def segment_check(segment: Segment, stop_at_first: bool) -> SegmentResult:
    from django.db import connections

    from .verify import verify_segment

    try:
        result = verify_segment(segment, stop_at_first=stop_at_first)
        result.process = os.getpid()
        return result
    finally:
        connections.close_all()
