"""The source systems that feed the index, declared as data and applied by `sync_sources`.

`authority_rank` orders sources for survivorship (lower wins): a local authority's own case
record is the most carefully kept for the children it knows; GP registration is the best general
source of names and addresses; child benefit claims are the least current.
"""

from dataclasses import dataclass

from . import columns


@dataclass(frozen=True)
class SourceDefinition:
    code: str
    name: str
    owner_code: str
    owner_name: str
    obligation: str
    authority_rank: int
    identifiers_private: bool
    extra_columns: tuple[str, ...]
    stale_after_days: int = 365
    """A record this source has given no new account of (new, changed, withdrawn or sent again
    after withdrawal) for longer than this counts as stale on the data-quality dashboard: by then
    the source should have changed or withdrawn it (docs/feeds.md, "Staleness")."""


SOURCES: tuple[SourceDefinition, ...] = (
    SourceDefinition(
        "la_childrens_services",
        "Local authority children's services",
        "DFE",
        "Department for Education (local authority returns)",
        "must",
        10,
        True,
        columns.FORMER_NAMES + columns.RETENTION + columns.CARERS + columns.INVOLVEMENT,
        stale_after_days=180,
    ),
    SourceDefinition(
        "gp_registration",
        "GP registrations",
        "X26",
        "NHS England",
        "must",
        20,
        False,
        columns.GP,
        stale_after_days=365,
    ),
    SourceDefinition(
        "school_census",
        "School census",
        "DFE",
        "Department for Education (local authority returns)",
        "must",
        30,
        True,
        columns.SCHOOL + columns.CARERS[:6],
        stale_after_days=365,
    ),
    SourceDefinition(
        "community_health",
        "Community health services",
        "X26",
        "NHS England",
        "must",
        35,
        True,
        columns.INVOLVEMENT,
        stale_after_days=180,
    ),
    SourceDefinition(
        "child_benefit",
        "Child benefit",
        "HMRC",
        "HM Revenue and Customs",
        "must",
        40,
        True,
        columns.CARERS,
        stale_after_days=365,
    ),
    SourceDefinition(
        "youth_justice",
        "Youth justice services",
        "YJB",
        "Youth Justice Board",
        "must",
        50,
        True,
        columns.INVOLVEMENT + columns.CARERS[:6],
        stale_after_days=180,
    ),
    SourceDefinition(
        "canonical",
        "Generic canonical feed",
        "CPNAT",
        "ContactPoint national team",
        "may",
        90,
        True,
        columns.FORMER_NAMES
        + columns.RETENTION
        + columns.CARERS
        + columns.SCHOOL
        + columns.GP
        + columns.INVOLVEMENT,
        stale_after_days=365,
    ),
)

BY_CODE = {source.code: source for source in SOURCES}
