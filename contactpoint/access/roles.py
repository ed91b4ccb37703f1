"""The roles, declared as data (domain.md section 3). `contactpoint sync_roles` applies them."""

from dataclasses import dataclass

from . import permissions as p


@dataclass(frozen=True)
class RoleDefinition:
    code: str
    name: str
    description: str
    permissions: frozenset[str]


ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        "practitioner",
        "Practitioner",
        "Finds children and sees who else is working with them; records their own involvement.",
        frozenset({p.SEARCH_CHILDREN, p.VIEW_CHILD_RECORD, p.RECORD_INVOLVEMENT, p.VIEW_SENSITIVE_SERVICES}),
    ),
    RoleDefinition(
        "la_management",
        "Local authority ContactPoint team",
        "Users, shielding, the linkage review queue, feed reports and audit review for its own area.",
        frozenset(
            {
                p.SEARCH_CHILDREN,
                p.VIEW_CHILD_RECORD,
                p.VIEW_SENSITIVE_SERVICES,
                p.VIEW_SHIELDED_RECORDS,
                p.BREAK_GLASS,
                p.MANAGE_SHIELDING,
                p.MANAGE_USERS,
                p.REVIEW_LINKAGE,
                p.READ_FEED_REPORTS_AREA,
                p.READ_AUDIT_AREA,
                p.RESPOND_TO_MISUSE,
                p.VIEW_ARCHIVE_FOR_REVIEW,
                p.EXPORT_SUBJECT_ACCESS,
                p.RECORD_RETENTION,
            }
        ),
    ),
    RoleDefinition(
        "national_partner",
        "National partner practitioner",
        "A practitioner at a national body: no sensitive services, other bodies' identifiers or archive.",
        frozenset({p.SEARCH_CHILDREN, p.VIEW_CHILD_RECORD}),
    ),
    RoleDefinition(
        "data_manager",
        "Data manager",
        "Feeds, linkage, and archived records during their first year.",
        frozenset(
            {
                p.MANAGE_FEEDS,
                p.REVIEW_LINKAGE,
                p.VIEW_ARCHIVE_FIRST_YEAR,
                p.VIEW_ARCHIVE_FOR_REVIEW,
                p.SEARCH_CHILDREN,
            }
        ),
    ),
    RoleDefinition(
        "auditor",
        "Auditor",
        "Reads the audit log everywhere; sees no child data.",
        frozenset({p.READ_AUDIT_ALL}),
    ),
    RoleDefinition(
        "system_admin",
        "System administrator",
        "Runs the service; no child data by default.",
        frozenset({p.ADMINISTER_SYSTEM}),
    ),
)

ROLE_CODES = tuple(role.code for role in ROLES)
