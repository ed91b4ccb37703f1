"""Named permissions. Roles grant them (roles.py); checks ask for them by name, never by role."""

SEARCH_CHILDREN = "search_children"
VIEW_CHILD_RECORD = "view_child_record"
RECORD_INVOLVEMENT = "record_involvement"
VIEW_SENSITIVE_SERVICES = "view_sensitive_services"
VIEW_SHIELDED_RECORDS = "view_shielded_records"
BREAK_GLASS = "break_glass"
MANAGE_SHIELDING = "manage_shielding"
MANAGE_USERS = "manage_users"
REVIEW_LINKAGE = "review_linkage"
MANAGE_FEEDS = "manage_feeds"
READ_FEED_REPORTS_AREA = "read_feed_reports_area"  # load reports and quarantine for the team's area
VIEW_ARCHIVE_FIRST_YEAR = "view_archive_first_year"
VIEW_ARCHIVE_FOR_REVIEW = "view_archive_for_review"  # s47 enquiry, serious case or child death review
EXPORT_SUBJECT_ACCESS = "export_subject_access"  # subject access requests and rectification
RECORD_RETENTION = "record_retention"  # consent to stay live to 25, a child's death
READ_AUDIT_AREA = "read_audit_area"
READ_AUDIT_ALL = "read_audit_all"
RESPOND_TO_MISUSE = "respond_to_misuse"  # suspend, tell the manager, record the outcome
ADMINISTER_SYSTEM = "administer_system"

ALL = frozenset(value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str))
