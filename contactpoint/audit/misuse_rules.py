"""The misuse rules, declared as data: what each looks for, over what window, and its thresholds.

Changing a threshold is a reviewed code change, like a role's permissions. `contactpoint
detect_misuse` evaluates every rule here over the recent log (contactpoint/audit/misuse.py holds
how each rule reads events). In 2009 staff "testing" the system on relatives was the most common
breach, hence the first rule.
"""

import datetime
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MisuseRule:
    code: str
    title: str
    description: str
    window: datetime.timedelta
    thresholds: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash(self.code)


HOUR, DAY = datetime.timedelta(hours=1), datetime.timedelta(days=1)

RULES: tuple[MisuseRule, ...] = (
    MisuseRule(
        "own_surname_or_address",
        "Looked up people sharing their own surname or address",
        "Searches naming, and results or views of children (or their carers) having, the user's own "
        "family name or home postcode.",
        window=DAY,
        thresholds={"min_surname_matches": 2, "min_address_matches": 1},
    ),
    MisuseRule(
        "volume_above_peers",
        "Far more searches and views than their peers",
        "A user's searches and views in the window against the median of other active users in the "
        "same role.",
        window=DAY,
        thresholds={"multiple_of_median": 5, "min_events": 50, "min_peers": 3},
    ),
    MisuseRule(
        "far_outside_area",
        "Viewed children far outside their area with no involvement",
        "Views of children living in another authority's area (not a declared neighbour) with whom "
        "the user's organisation has no involvement.",
        window=7 * DAY,
        thresholds={"min_children": 3, "neighbours": {}},
    ),
    MisuseRule(
        "out_of_hours_burst",
        "A burst of activity out of hours",
        "Many searches or views within a short span at night or at the weekend (UK time).",
        window=DAY,
        thresholds={"working_day_starts": 7, "working_day_ends": 20, "burst_size": 10, "burst_minutes": 60},
    ),
    MisuseRule(
        "searches_without_view",
        "Repeated searches without opening a record",
        "Many searches and hardly any views: browsing the index rather than finding a child to help.",
        window=DAY,
        thresholds={"min_searches": 30, "max_views_per_search": 0.05},
    ),
)

RULES_BY_CODE = {rule.code: rule for rule in RULES}
