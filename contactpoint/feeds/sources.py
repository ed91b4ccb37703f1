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
    ),
    SourceDefinition(
        "gp_registration", "GP registrations", "X26", "NHS England", "must", 20, False, columns.GP
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
    ),
    SourceDefinition(
        "child_benefit", "Child benefit", "HMRC", "HM Revenue and Customs", "must", 40, True, columns.CARERS
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
    ),
)

BY_CODE = {source.code: source for source in SOURCES}
