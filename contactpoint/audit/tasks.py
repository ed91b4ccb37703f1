"""Audit work for the task queue: sealing the chain and looking for misuse on a schedule."""

import datetime

from django.tasks import task

from .misuse import misuse_detect
from .services import chain_seal


@task()
def seal_audit_task() -> int:
    total = 0
    while sealed := chain_seal(grace=datetime.timedelta(seconds=5)):
        total += sealed
    return total


@task()
def detect_misuse_task() -> list[int]:
    return [alert.pk for alert in misuse_detect()]
