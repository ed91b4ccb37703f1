"""GET /fhir/Patient?family=&given=&birthdate=&gender=&address-postalcode=&identifier=

The one search (contactpoint.search) with FHIR's parameter names, as NHS PDS takes them. A
result shows what a result list may: names, gender, birth date, the postcode district, the match
score (`search.score`, 0 to 1), and the restricted label on a shielded child.
"""

import datetime
from typing import Any

from django.http import QueryDict
from rest_framework import exceptions

from contactpoint.search.selectors import DEFAULT_LIMIT, MAX_LIMIT, SearchCriteria, SearchHit

from .mapping import (
    CONTACTPOINT_ID_SYSTEM,
    GENDERS,
    NHS_NUMBER_SYSTEM,
    SECURITY_RESTRICTED,
    SECURITY_UNRESTRICTED,
)

PARAMETERS = {
    "family",
    "given",
    "birthdate",
    "gender",
    "address-postalcode",
    "identifier",
    "_count",
    "_exact-match",
    "_fuzzy-match",
    "_format",
}
FHIR_GENDERS = {fhir: ours for ours, fhir in GENDERS.items()}


def _one(params: QueryDict, name: str) -> str:
    values = params.getlist(name)
    if len(values) > 1:
        raise exceptions.ValidationError(f"Give {name} once.")
    return values[0].strip() if values else ""


def _date(value: str, name: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise exceptions.ValidationError(f"{name} must be a date (YYYY-MM-DD), with eq, ge or le.") from exc


def _birthdates(params: QueryDict) -> tuple[datetime.date | None, datetime.date | None]:
    """birthdate=2015-03-14 or eq2015-03-14; a range as birthdate=ge2015-01-01&birthdate=le2015-12-31."""
    exact = low = high = None
    values = params.getlist("birthdate")
    if len(values) > 2:
        raise exceptions.ValidationError("Give birthdate at most twice (ge and le).")
    for raw in values:
        prefix, value = (raw[:2], raw[2:]) if raw[:2] in {"eq", "ge", "le"} else ("eq", raw)
        day = _date(value.strip(), "birthdate")
        if prefix == "eq":
            exact = day
        elif prefix == "ge":
            low = day
        else:
            high = day
    if (exact and (low or high)) or ((low is None) != (high is None) and not exact):
        if exact:
            raise exceptions.ValidationError("Give birthdate as one date, or as a ge and le range.")
        raise exceptions.ValidationError("A birthdate range needs both ge and le.")
    return (exact, None) if exact else (low, high)


def _identifier(value: str) -> str:
    system, bar, number = value.rpartition("|")
    if bar and system not in (NHS_NUMBER_SYSTEM, ""):
        raise exceptions.ValidationError(f"Search identifiers by NHS number: {NHS_NUMBER_SYSTEM}|<number>.")
    return number if bar else value


def _flag(params: QueryDict, name: str) -> bool:
    value = _one(params, name).lower()
    if value not in {"", "true", "false"}:
        raise exceptions.ValidationError(f"{name} must be true or false.")
    return value == "true"


def criteria_from(params: QueryDict) -> tuple[SearchCriteria, int]:
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise exceptions.ValidationError(f"Unsupported search parameters: {', '.join(unknown)}.")
    gender = _one(params, "gender")
    if gender and gender not in FHIR_GENDERS:
        raise exceptions.ValidationError("gender must be male, female or unknown.")
    count = _one(params, "_count") or str(DEFAULT_LIMIT)
    if not count.isdigit() or not 1 <= int(count) <= MAX_LIMIT:
        raise exceptions.ValidationError(f"_count must be between 1 and {MAX_LIMIT}.")
    born, born_to = _birthdates(params)
    criteria = SearchCriteria(
        given_name=_one(params, "given"),
        family_name=_one(params, "family"),
        date_of_birth=born,
        date_of_birth_to=born_to,
        gender=FHIR_GENDERS.get(gender, ""),
        postcode=_one(params, "address-postalcode"),
        nhs_number=_identifier(_one(params, "identifier")),
        exact=_flag(params, "_exact-match") and not _flag(params, "_fuzzy-match"),
    )
    return criteria, int(count)


def patient_from_hit(hit: SearchHit) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": hit.id,
        "meta": {"security": [SECURITY_RESTRICTED if hit.shielded else SECURITY_UNRESTRICTED]},
        "identifier": [{"system": CONTACTPOINT_ID_SYSTEM, "value": hit.id}],
    }
    name: dict[str, Any] = {"use": "official"} | ({"family": hit.family_name} if hit.family_name else {})
    if hit.given_name:
        name["given"] = [hit.given_name]
    resource["name"] = [name]
    if hit.gender:
        resource["gender"] = GENDERS.get(hit.gender, "unknown")
    if hit.date_of_birth:
        resource["birthDate"] = hit.date_of_birth.isoformat()
    if hit.postcode_district and not hit.shielded:
        resource["address"] = [{"use": "home", "postalCode": hit.postcode_district}]
    return resource


TOO_MANY = {
    "resourceType": "OperationOutcome",
    "id": "too-many-matches",
    "issue": [
        {
            "severity": "warning",
            "code": "multiple-matches",
            "diagnostics": "Too many children match: add detail (a given name, gender or postcode).",
        }
    ],
}
