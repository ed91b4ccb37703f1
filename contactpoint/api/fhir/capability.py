"""The CapabilityStatement: what this FHIR server does, for clients that discover it."""

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .mapping import NHS_NUMBER_SYSTEM

PATIENT_SEARCH = [
    ("family", "string", "Family name (fuzzy unless :exact)"),
    ("given", "string", "Given name"),
    ("birthdate", "date", "Date of birth (YYYY-MM-DD)"),
    ("gender", "token", "male | female | unknown"),
    ("address-postalcode", "string", "Postcode or postcode district"),
    ("identifier", "token", f"{NHS_NUMBER_SYSTEM}|<NHS number>"),
]
REASON_NOTE = "Every read of a child's data needs an X-Access-Reason header (recorded in the audit log)."


def _software_version() -> str:
    try:
        return version("contactpoint")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _resource(kind: str, interactions: list[str], search: list[tuple[str, str, str]], doc: str) -> dict:
    resource: dict[str, Any] = {
        "type": kind,
        "interaction": [{"code": code} for code in interactions],
        "documentation": doc,
    }
    if search:
        resource["searchParam"] = [
            {"name": name, "type": kind_, "documentation": text} for name, kind_, text in search
        ]
    return resource


def capability_statement(base: str, *, patient_search: bool = False) -> dict[str, Any]:
    patient = _resource(
        "Patient",
        ["read", *(["search-type"] if patient_search else [])],
        PATIENT_SEARCH if patient_search else [],
        "A child in the index, as the caller may see them. " + REASON_NOTE,
    )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-22",
        "publisher": "ContactPoint",
        "kind": "instance",
        "software": {"name": "ContactPoint", "version": _software_version()},
        "implementation": {"description": "ContactPoint FHIR R4 API", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": REASON_NOTE,
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "OAuth",
                                }
                            ],
                            "text": "Bearer token issued by the ContactPoint operator",
                        }
                    ],
                    "description": "Authorization: Bearer <token>; " + REASON_NOTE,
                },
                "resource": [
                    patient,
                    _resource(
                        "RelatedPerson",
                        ["search-type"],
                        [("patient", "reference", "The child's ContactPoint ID")],
                        "The child's carers. " + REASON_NOTE,
                    ),
                    _resource(
                        "EpisodeOfCare",
                        ["search-type"],
                        [("patient", "reference", "The child's ContactPoint ID")],
                        "Services working with the child; PractitionerRole and Organization included. "
                        + REASON_NOTE,
                    ),
                    _resource("Organization", ["read"], [], "Organisations, by kind and register code."),
                ],
            }
        ],
    }
