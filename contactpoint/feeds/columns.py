"""Columns of the canonical feed CSV (interfaces.md) and the optional groups a source may add.

docs/feeds.md describes each column; the statutory item each one feeds is named beside it.
"""

CANONICAL = (
    "source_record_id",
    "given_name",
    "middle_names",
    "family_name",
    "date_of_birth",
    "gender",
    "address_line_1",
    "town",
    "postcode",
    "nhs_number",
    "upn",
)

FORMER_NAMES = ("former_family_name",)

# Any source may send these: whether the record is withdrawn, and (for 18-25s) the consent that keeps it.
CONTROL = ("record_status",)
RETENTION = ("retention_consent",)

CARER_FIELDS = ("given_name", "family_name", "relationship", "parental_responsibility", "phone", "email")
CARERS = tuple(f"carer_{n}_{field}" for n in (1, 2) for field in CARER_FIELDS)

SCHOOL = ("school_urn", "school_start_date")

GP = ("gp_practice_code", "gp_registration_date")

INVOLVEMENT = (
    "service_type",
    "organisation_code",
    "practitioner_id",
    "practitioner_given_name",
    "practitioner_family_name",
    "practitioner_job_title",
    "practitioner_phone",
    "practitioner_email",
    "involvement_start_date",
    "involvement_end_date",
    "sensitive_basis",
    "has_caf",
    "is_lead_professional",
)

ORGANISATIONS = ("kind", "code", "name", "local_authority_code", "phone", "email", "town", "postcode")

# Columns that name an organisation by its register code: a quarantined row keeps them clear, as
# the area a local authority's team may see the row in.
ORGANISATION = ("school_urn", "gp_practice_code", "organisation_code")
