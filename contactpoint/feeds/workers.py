"""Start-up for feed worker processes.

Kept apart from pipeline.py and loader.py on purpose: a worker unpickles this function before
Django is set up, so its module must not import any models.
"""

import datetime
from typing import Any, NamedTuple

import django

# A file's validation settings: the columns its source may send, the extract date, its header.
Spec = tuple[frozenset[str], datetime.date, tuple[str, ...] | None]


class FileJob(NamedTuple):
    """What every batch of one file shares: sent to each worker once, not with every batch.

    Plain values only: it is unpickled in a new worker before Django (and so any model) is set up.
    """

    spec: Spec
    feed_file_id: int
    source_id: int
    extracted_at: datetime.datetime
    has_earlier_records: bool  # a first load skips the per-batch look-up of held records
    open_quarantine: frozenset[str]  # record ids this source has waiting in quarantine
    workers_write: bool
    load_key_id: int  # the file's LoadKey: every row it writes is sealed under it
    tombstones: bool = False  # destroyed children left tombstones: rows are checked against them


job: FileJob | None = None


def setup(databases: dict[str, dict[str, Any]] | None = None, file_job: FileJob | None = None) -> None:
    """Set Django up; a worker that writes uses the loading process's databases.

    The parent's connection settings are passed in rather than re-read from the environment, so a
    worker writes to the database the load was started against (under tests, the test database).
    """
    global job
    if databases is not None:
        from django.conf import settings

        settings.DATABASES = databases
    django.setup()
    job = file_job
