"""The source systems that feed the index, declared as data.

`authority_rank` orders sources for survivorship (lower wins): a local authority's own case
record is most carefully kept for the children it knows; GP registration is the best general
source of names and addresses; child benefit claims are least current.
"""

from dataclasses import dataclass

from . import columns


@dataclass(frozen=True)
class SourceDefinition:
    code: str
    name: str
    owner_kind: str  # the kind of body that owns it; the owner itself is configured per deployment
    obligation: str
    authority_rank: int
    identifiers_private: bool
    extra_columns: tuple[str, ...]


SOURCES: tuple[SourceDefinition, ...] = (
    SourceDefinition(
        "la_childrens_services",
        "Local authority children's services",
        "local_authority",
        "must",
        10,
        True,
        columns.FORMER_NAMES + columns.CARERS + columns.INVOLVEMENT,
    ),
    SourceDefinition(
        "gp_registration", "GP registrations (NHS)", "national_body", "must", 20, False, columns.GP
    ),
    SourceDefinition(
        "school_census",
        "School census (DfE)",
        "national_body",
        "must",
        30,
        True,
        columns.SCHOOL + columns.CARERS[:6],
    ),
    SourceDefinition(
        "community_health",
        "Community health services (NHS trusts)",
        "service_provider",
        "must",
        35,
        True,
        columns.INVOLVEMENT,
    ),
    SourceDefinition(
        "child_benefit", "Child benefit (DWP/HMRC)", "national_body", "must", 40, True, columns.CARERS
    ),
    SourceDefinition(
        "youth_justice",
        "Youth justice services",
        "service_provider",
        "must",
        50,
        True,
        columns.INVOLVEMENT + columns.CARERS[:6],
    ),
    SourceDefinition("canonical", "Generic canonical feed", "local_authority", "may", 90, True, ()),
)

BY_CODE = {source.code: source for source in SOURCES}
