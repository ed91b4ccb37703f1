"""The statutory schema: the only fields a child record may hold (domain.md section 1).

This manifest is the single list every writer checks against. A feed column or API field
outside it is refused by name, and a test fails the build if any model holding child data
grows a field that is not listed here (so "case_notes" cannot creep in through a migration).
"""

from collections.abc import Iterable, Iterator, Mapping

# Fields every assertion row carries to say where it came from and whether it is current.
BOOKKEEPING_FIELDS = frozenset(
    {"id", "child", "source", "source_record_id", "asserted_at", "recorded_at", "superseded_at", "is_chosen"}
    # a feed's source record: its fingerprint, the files that sent it, and its linkage state
    | {"content_hash", "first_file", "last_file", "withdrawn_at", "needs_linking"}
    # and which key sealed its values (records.sealed: its child's, or its file's load key)
    | {"sealed_key", "load_key"}
)

# Statutory items, per model that holds them.
STATUTORY_FIELDS: Mapping[str, frozenset[str]] = {
    "Child": frozenset({"contactpoint_id", "created_at", "merged_into", "merged_at"}),
    "ChildName": frozenset({"kind", "given_name", "middle_names", "family_name"}),
    "ChildGender": frozenset({"gender"}),
    "ChildBirthDate": frozenset({"date_of_birth"}),
    "ChildAddress": frozenset(
        {
            "status",
            "return_intent",
            "address_line_1",
            "address_line_2",
            "town",
            "postcode",
            "local_authority",
            "valid_from",
            "valid_to",
        }
    ),
    "ChildIdentifier": frozenset({"scheme", "scheme_name", "value", "issuer"}),
    "Carer": frozenset(
        {
            "given_name",
            "family_name",
            "relationship",
            "has_parental_responsibility",
            "phone",
            "email",
            "address_line_1",
            "town",
            "postcode",
            "start_date",
            "end_date",
        }
    ),
    "EducationSetting": frozenset({"organisation", "start_date", "end_date"}),
    "GPRegistration": frozenset({"organisation", "start_date", "end_date"}),
    # One source's account of a child, as loaded: the canonical columns, a former name, the consent
    # that keeps an 18-25 in scope, and the optional groups (carers, school, GP, involvement)
    # validated column by column into `extras`.
    "SourceRecord": frozenset(
        {
            "given_name",
            "middle_names",
            "family_name",
            "former_family_name",
            "date_of_birth",
            "gender",
            "address_line_1",
            "town",
            "postcode",
            "nhs_number",
            "upn",
            "retention_consent",
            "extras",
        }
    ),
    # Not a statutory item but the access rule over them: who shielded the child, why and until when,
    # who last reviewed it, why it ended, and which review date the team was told about.
    "Shield": frozenset(
        {
            "local_authority",
            "reason",
            "created_by",
            "created_at",
            "review_due",
            "ended_at",
            "ended_by",
            "end_reason",
            "reviewed_at",
            "reviewed_by",
            "review_notified_for",
        }
    ),
    # Not statutory items but the record of a shield being overridden, for the authority to investigate.
    "BreakGlassAlert": frozenset(
        {"shield", "local_authority", "user", "reason", "raised_at", "investigated_at", "outcome"}
    ),
    # Linkage's bookkeeping: which records share a blocking key, and how each came to its child.
    "CandidateKey": frozenset({"record", "key"}),
    "RecordLink": frozenset({"record", "previous_child", "how", "evidence", "model_version", "run", "at"}),
    "ReviewItem": frozenset(
        {
            "child_a",
            "child_b",
            "record_a",
            "record_b",
            "evidence",
            "weights",
            "reason",
            "model_version",
            "run",
            "status",
            "created_at",
            "decided_by",
            "decided_at",
        }
    ),
    "ChildMerge": frozenset(
        {"survivor", "merged", "record_ids", "reason", "by", "at", "undone_at", "undone_by"}
    ),
    # Retention (docs/retention.md): where the child is in the lifecycle (archived by age, after a
    # death, or on leaving a targeted scope), the consent that keeps an 18-25 live, a death, and the
    # child's wrapped data key (crypto-shredding).
    "ChildRetention": frozenset(
        {
            "state",
            "archived_on",
            "archive_basis",
            "consent",
            "consent_recorded_at",
            "consent_recorded_by",
            "consent_evidence",  # how the young person consented, for the audit review
            "died_on",
            "died_source",  # who told the team of the death
            "died_recorded_at",
            "died_recorded_by",
        }
    ),
    "ChildDataKey": frozenset({"key_id", "wrapped", "kek_id", "created_at", "rewrapped_at"}),
    # A correction someone asked for, to one source's value of a statutory item.
    "Rectification": frozenset(
        {
            "item",
            "field",
            "current_value",
            "corrected_value",
            "requested_by",
            "recorded_by",
            "recorded_at",
        }
    ),
    # Notifications: which change happened to which child (ids and codes in `details`, never a
    # value of the record), and which emergency setting opened a child's record when.
    "Event": frozenset({"uid", "kind", "other_child", "occurred_at", "details", "fanned_out_at"}),
    "EmergencyLookup": frozenset({"occurred_at", "user", "organisation", "client"}),
    "Involvement": frozenset(
        {
            "organisation",
            "service_type",
            "practitioner",
            "start_date",
            "end_date",
            "is_sensitive",
            "sensitive_basis",
            "has_caf",
            "is_lead_professional",
        }
    ),
}


def models_holding_child_data() -> Iterator[type]:
    """Every installed model that is the child or points at one: the registry other rules (the
    field manifest here, retention's coverage) are checked against, so a new model cannot escape
    either by not being listed."""
    from django.apps import apps

    from .models import Child

    for model in apps.get_models():
        if model is Child or any(
            getattr(field, "related_model", None) is Child for field in model._meta.concrete_fields
        ):
            yield model


class NonStatutoryFieldError(ValueError):
    """Raised when a caller tries to store something the law does not allow the index to hold."""

    def __init__(self, item: str, fields: Iterable[str]):
        self.item = item
        self.fields = sorted(fields)
        names = ", ".join(self.fields)
        verb = "is not a statutory item" if len(self.fields) == 1 else "are not statutory items"
        super().__init__(f"{names} {verb} of {item} and cannot be stored.")


def reject_non_statutory(item: str, data: Mapping[str, object]) -> None:
    if item not in STATUTORY_FIELDS:
        raise NonStatutoryFieldError("the child record", [item])
    extra = set(data) - STATUTORY_FIELDS[item]
    if extra:
        raise NonStatutoryFieldError(item, extra)
