"""Per-row validation, following domain.md section 2 exactly.

A row is quarantined only when it cannot be an in-scope child: no source record id, no usable
name, or a valid date of birth that puts the person out of scope. Every other bad value is left
out with a warning and the row is loaded, because losing a child from the index is worse than
holding one with a gap.

Each column has one parser (PARSERS). A validator compiles the parsers of the columns its source
may send into a flat plan, so a row costs one loop over the cells it can hold and nothing else.
"""

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from contactpoint.records.models import CarerRelationship, SensitiveBasis, ServiceType

from . import columns
from . import normalise as n

ADULT_AGE = 18
CONSENT_AGE_LIMIT = 25
RETENTION_CONSENTS = ("care_leaver", "special_educational_needs")
SENSITIVE = frozenset({ServiceType.MENTAL_HEALTH, ServiceType.SEXUAL_HEALTH, ServiceType.SUBSTANCE_MISUSE})

Parser = Callable[[str], n.Parsed]

_CARER_PARSERS: dict[str, tuple[Parser, Any]] = {
    "given_name": (n.names(100), ""),
    "family_name": (n.names(100), ""),
    "relationship": (n.choice(CarerRelationship.values), ""),
    "parental_responsibility": (n.boolean, False),
    "phone": (n.texts(40), ""),
    "email": (n.texts(254), ""),
}

# column -> (parser, value when empty or invalid)
PARSERS: dict[str, tuple[Parser, Any]] = {
    "source_record_id": (n.texts(128), ""),
    "given_name": (n.names(100), ""),
    "middle_names": (n.names(200), ""),
    "family_name": (n.names(100), ""),
    "former_family_name": (n.names(100), ""),
    "date_of_birth": (n.date, None),
    "gender": (n.gender, ""),
    "address_line_1": (n.texts(200), ""),
    "town": (n.texts(100), ""),
    "postcode": (n.postcode, ""),
    "nhs_number": (n.nhs_number, ""),
    "upn": (n.upn, ""),
    "retention_consent": (n.choice(RETENTION_CONSENTS), ""),
    "record_status": (n.choice(("active", "withdrawn")), ""),
    **{f"carer_{i}_{key}": parser for i in (1, 2) for key, parser in _CARER_PARSERS.items()},
    "school_urn": (n.texts(32), ""),
    "school_start_date": (n.date, None),
    "gp_practice_code": (n.texts(32), ""),
    "gp_registration_date": (n.date, None),
    "service_type": (n.choice(ServiceType.values), ""),
    "organisation_code": (n.texts(32), ""),
    "practitioner_id": (n.texts(128), ""),
    "practitioner_given_name": (n.names(100), ""),
    "practitioner_family_name": (n.names(100), ""),
    "practitioner_job_title": (n.texts(120), ""),
    "practitioner_phone": (n.texts(40), ""),
    "practitioner_email": (n.texts(254), ""),
    "involvement_start_date": (n.date, None),
    "involvement_end_date": (n.date, None),
    "sensitive_basis": (n.choice(SensitiveBasis.values), ""),
    "has_caf": (n.boolean, False),
    "is_lead_professional": (n.boolean, False),
}
# The values a source record holds, in the order the loader stores and fingerprints them.
VALUE_COLUMNS = (*columns.CANONICAL[1:], "former_family_name", "retention_consent")

_CARER_KEYS = tuple({key: f"carer_{i}_{key}" for key in _CARER_PARSERS} for i in (1, 2))
GROUPS = {
    "carers": frozenset(c for keys in _CARER_KEYS for c in keys.values()),
    "school": frozenset(columns.SCHOOL),
    "gp": frozenset(columns.GP),
    "involvement": frozenset(columns.INVOLVEMENT),
}


class QuarantineReason:
    MISSING_SOURCE_RECORD_ID = "missing_source_record_id"
    NO_NAME = "no_name"
    BORN_IN_FUTURE = "born_in_future"
    AGED_25_OR_OVER = "aged_25_or_over"
    ADULT_WITHOUT_CONSENT = "adult_without_consent"
    DUPLICATE_IN_FILE = "duplicate_in_file"
    MALFORMED_ROW = "malformed_row"
    DESTROYED = "destroyed_under_retention"  # a row's own reason carries the date: destroyed_reason()

    MESSAGES: Mapping[str, str] = {
        MISSING_SOURCE_RECORD_ID: "The row has no source_record_id.",
        NO_NAME: "The row has no usable given or family name.",
        BORN_IN_FUTURE: "The date of birth is in the future.",
        AGED_25_OR_OVER: "The date of birth makes the person 25 or over: out of scope.",
        ADULT_WITHOUT_CONSENT: "The person is 18 or over and no retention_consent keeps them in scope.",
        DUPLICATE_IN_FILE: "The source_record_id appears earlier in the same file.",
        MALFORMED_ROW: "The row has more fields than the header, so its columns cannot be trusted.",
        DESTROYED: "The row describes a child whose record was destroyed under the retention policy: "
        "the source should stop sending it.",
    }


def destroyed_reason(on: datetime.date) -> str:
    """A refused row's reason, with the date the child was destroyed (its cells are not kept)."""
    return f"destroyed under retention on {on.isoformat()}"


def reason_code(reason: str) -> str:
    """The code a load report counts a row's reason under."""
    return QuarantineReason.DESTROYED if reason.startswith("destroyed under retention") else reason


class Warning(NamedTuple):
    column: str
    kind: str
    message: str


@dataclass(slots=True)
class RowOutcome:
    row_number: int
    source_record_id: str
    values: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    warnings: list[Warning] = field(default_factory=list)
    quarantine: list[str] = field(default_factory=list)
    withdrawn: bool = False


def age_on(born: datetime.date, day: datetime.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


class RowValidator:
    """Validates rows of one file; `accepted` is the set of columns this source may send."""

    def __init__(self, *, accepted: frozenset[str], today: datetime.date):
        self.today = today
        self.plan = [
            (c, parse, getattr(parse, "plain_limit", 0), getattr(parse, "name_limit", 0))
            for c, (parse, _) in PARSERS.items()
            if c in accepted
        ]
        self.groups = {group for group, members in GROUPS.items() if accepted & members}
        needed = {*VALUE_COLUMNS, "source_record_id", "record_status"}.union(
            *(GROUPS[g] for g in self.groups)
        )
        self.defaults = {c: PARSERS[c][1] for c in PARSERS if c in needed}

    def validate(self, row_number: int, raw: Mapping[str, str], malformed: bool = False) -> RowOutcome:
        cells, warnings = self._parse(raw)
        outcome = RowOutcome(row_number, cells["source_record_id"], warnings=warnings)
        if malformed:
            outcome.quarantine.append(QuarantineReason.MALFORMED_ROW)
            return outcome
        if not outcome.source_record_id:
            outcome.quarantine.append(QuarantineReason.MISSING_SOURCE_RECORD_ID)
        outcome.values = {c: cells[c] for c in VALUE_COLUMNS}
        if not (cells["given_name"] or cells["family_name"]):
            outcome.quarantine.append(QuarantineReason.NO_NAME)
        self._scope(outcome)
        self._extras(cells, outcome)
        outcome.withdrawn = cells["record_status"] == "withdrawn"
        return outcome

    def _parse(self, raw: Mapping[str, str]) -> tuple[dict[str, Any], list[Warning]]:
        """One pass over the cells. Plain ASCII text takes an inline fast path: it is most cells."""
        cells = dict(self.defaults)
        warnings: list[Warning] = []
        for column, parse, plain_limit, name_limit in self.plan:
            text = raw.get(column)
            if not text:
                continue
            if plain_limit and len(text) <= plain_limit and text.isascii() and text.isprintable():
                cells[column] = " ".join(text.split())
                continue
            if name_limit and len(text) <= name_limit and text.isascii() and text.isprintable():
                collapsed = " ".join(text.split())
                if n.ASCII_NAME.match(collapsed):
                    cells[column] = collapsed
                    continue
            try:
                value, repairs = parse(text)
            except n.Invalid as problem:
                warnings.append(Warning(column, problem.kind, problem.message))
                continue
            if repairs:
                warnings.extend(Warning(column, r.kind, r.message) for r in repairs)
            cells[column] = value
        return cells, warnings

    def _scope(self, outcome: RowOutcome) -> None:
        born = outcome.values["date_of_birth"]
        if born is None:
            return
        if born > self.today:
            outcome.quarantine.append(QuarantineReason.BORN_IN_FUTURE)
            return
        age = age_on(born, self.today)
        if age >= CONSENT_AGE_LIMIT:
            outcome.quarantine.append(QuarantineReason.AGED_25_OR_OVER)
        elif age >= ADULT_AGE and not outcome.values["retention_consent"]:
            outcome.quarantine.append(QuarantineReason.ADULT_WITHOUT_CONSENT)

    def _extras(self, cells: dict[str, Any], outcome: RowOutcome) -> None:
        outcome.extras = extras_of(cells, self.groups, outcome.warnings)


def extras_of(cells: Mapping[str, Any], groups: set[str], warnings: list[Warning]) -> dict[str, Any]:
    """Carers, school, GP and involvement, from a row's cleaned cells; a refusal adds a warning."""
    extras: dict[str, Any] = {}
    if "carers" in groups:
        carers = [
            {key: cells[column] for key, column in keys.items()}
            for keys in _CARER_KEYS
            if cells[keys["family_name"]]
        ]
        for carer in carers:
            carer["relationship"] = carer["relationship"] or CarerRelationship.OTHER
        if carers:
            extras["carers"] = carers
    if "school" in groups and cells["school_urn"]:
        extras["school"] = {"code": cells["school_urn"], "start_date": _iso(cells["school_start_date"])}
    if "gp" in groups and cells["gp_practice_code"]:
        extras["gp"] = {"code": cells["gp_practice_code"], "start_date": _iso(cells["gp_registration_date"])}
    if "involvement" in groups and cells["service_type"] and cells["organisation_code"]:
        involvement = _involvement(cells, warnings)
        if involvement:
            extras["involvement"] = involvement
    return extras


def _involvement(cells: Mapping[str, Any], warnings: list[Warning]) -> dict[str, Any] | None:
    if cells["service_type"] in SENSITIVE and not cells["sensitive_basis"]:
        warnings.append(
            Warning(
                "sensitive_basis",
                "sensitive_without_basis",
                "a sensitive service is recorded only with consent or an s31 basis; involvement left out",
            )
        )
        return None
    practitioner = {
        key: cells[f"practitioner_{key}"]
        for key in ("id", "given_name", "family_name", "job_title", "phone", "email")
    }
    return {
        "service_type": cells["service_type"],
        "organisation_code": cells["organisation_code"],
        "practitioner": practitioner if practitioner["family_name"] else None,
        "start_date": _iso(cells["involvement_start_date"]),
        "end_date": _iso(cells["involvement_end_date"]),
        "sensitive_basis": cells["sensitive_basis"],
        "has_caf": cells["has_caf"],
        "is_lead_professional": cells["is_lead_professional"],
    }


def _iso(day: datetime.date | None) -> str:
    return day.isoformat() if day else ""
