"""The targeted scope (domain.md section 1, after the 2010 "signposting" proposal and CP-IS).

A deployment with CONTACTPOINT_SCOPE=targeted holds only children known to services: a live
involvement (or one that ended within CONTACTPOINT_SCOPE_GRACE_DAYS), or looked-after status (a
carer recorded as the local authority). A child protection plan is known to the index as the
children's social care involvement that carries it: the plan itself is not a statutory item.

Linkage asks `extras_establish_scope` of a record before it creates a child from it: a record
that would create someone not known to services is held out (and looked at again when its source changes it),
while records that match a child already in the index link as usual.
"""

import datetime

from django.conf import settings

TARGETED = "targeted"
LOOKED_AFTER = "local_authority"


def targeted() -> bool:
    return settings.CONTACTPOINT_SCOPE == TARGETED


def grace_cutoff(today: datetime.date | None = None) -> datetime.date:
    return (today or datetime.date.today()) - datetime.timedelta(days=settings.CONTACTPOINT_SCOPE_GRACE_DAYS)


def _recent(end_date: str | datetime.date | None, cutoff: datetime.date) -> bool:
    if not end_date:
        return True
    if isinstance(end_date, str):
        try:
            end_date = datetime.date.fromisoformat(end_date)
        except ValueError:
            return True  # an unreadable end date does not drop a child from the index
    return end_date >= cutoff


def extras_establish_scope(extras: dict, *, today: datetime.date | None = None) -> bool:
    """What one source record says: an involvement, recent enough, or a local authority as carer."""
    cutoff = grace_cutoff(today)
    involvement = extras.get("involvement")
    if involvement and _recent(involvement.get("end_date"), cutoff):
        return True
    return any(carer.get("relationship") == LOOKED_AFTER for carer in extras.get("carers", []))
