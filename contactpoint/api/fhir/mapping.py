"""The door's ChildRecordView as FHIR R4 resources (plain dicts, validated against R4 in tests).

Only what the view holds is mapped, so FHIR cannot show more than the REST API or the pages. A
shielded child's Patient carries the confidentiality label R (restricted), as NHS PDS does for
restricted patients, and, when the view is restricted, no address, telecom or GP: the view has
already left them out, and the mapper adds nothing back.
"""

import datetime
from typing import Any

from contactpoint.access.door import (
    CarerView,
    ChildRecordView,
    ContactView,
    InvolvementView,
    NameView,
)

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
CONTACTPOINT_ID_SYSTEM = "https://fhir.contactpoint.gov.uk/Id/contactpoint-id"
UPN_SYSTEM = "https://fhir.contactpoint.gov.uk/Id/unique-pupil-number"
OTHER_ID_SYSTEM = "https://fhir.contactpoint.gov.uk/Id/"
ORGANISATION_SYSTEM = "https://fhir.contactpoint.gov.uk/Id/organisation-"
SERVICE_TYPE_SYSTEM = "https://fhir.contactpoint.gov.uk/CodeSystem/service-type"
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RELATIONSHIP_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
SECURITY_RESTRICTED = {"system": CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"}
SECURITY_UNRESTRICTED = {"system": CONFIDENTIALITY_SYSTEM, "code": "U", "display": "unrestricted"}
GENDERS = {"male": "male", "female": "female", "not_specified": "unknown"}
RELATIONSHIPS = {
    "mother": ("MTH", "mother"),
    "father": ("FTH", "father"),
    "step_parent": ("STPPRN", "step parent"),
    "grandparent": ("GRPRN", "grandparent"),
    "other_relative": ("EXT", "extended family member"),
    "foster_carer": ("FOSTPRN", "foster parent"),
    "special_guardian": ("GUARD", "guardian"),
    "local_authority": ("GUARD", "guardian"),
    "other": ("FAMMEMB", "family member"),
}


def _human_name(name: NameView, use: str) -> dict[str, Any]:
    given = [part for part in (name.given_name, *name.middle_names.split()) if part]
    result: dict[str, Any] = {"use": use}
    if name.family_name:
        result["family"] = name.family_name
    if given:
        result["given"] = given
    return result


def _telecom(contact: ContactView | None) -> list[dict[str, str]]:
    if contact is None:
        return []
    points = [{"system": "phone", "value": contact.phone}] if contact.phone else []
    return points + ([{"system": "email", "value": contact.email}] if contact.email else [])


def organisation_id(contact: ContactView) -> str:
    """A FHIR id from the organisation's kind and register code (ids allow letters, digits, - and .)."""
    return f"{contact.kind.replace('_', '-')}.{contact.code}"


def organisation_reference(contact: ContactView) -> dict[str, str]:
    if contact.kind and contact.code:
        return {"reference": f"Organization/{organisation_id(contact)}", "display": contact.name}
    return {"display": contact.name}


def _identifiers(record: ChildRecordView) -> list[dict[str, str]]:
    identifiers = [{"system": CONTACTPOINT_ID_SYSTEM, "value": record.contactpoint_id}]
    for scheme, value in record.identifiers:
        system = {"nhs_number": NHS_NUMBER_SYSTEM, "upn": UPN_SYSTEM}.get(scheme, OTHER_ID_SYSTEM + scheme)
        identifiers.append({"system": system, "value": value})
    return identifiers


def _address(address: dict[str, str] | None) -> list[dict[str, Any]]:
    if not address or not (address.get("address_line_1") or address.get("postcode")):
        return []
    lines = [line for line in (address["address_line_1"], address["address_line_2"]) if line]
    result: dict[str, Any] = {"use": "home" if address["status"] == "current" else "old"}
    if lines:
        result["line"] = lines
    if address["town"]:
        result["city"] = address["town"]
    if address["postcode"]:
        result["postalCode"] = address["postcode"]
    return [result]


def patient(record: ChildRecordView) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": record.contactpoint_id,
        "meta": {"security": [SECURITY_RESTRICTED if record.shielded else SECURITY_UNRESTRICTED]},
        "identifier": _identifiers(record),
    }
    names = ([_human_name(record.name, "official")] if record.name else []) + [
        _human_name(former, "old") for former in record.former_names
    ]
    if names:
        resource["name"] = names
    if record.gender:
        resource["gender"] = GENDERS.get(record.gender, "unknown")
    if record.date_of_birth:
        resource["birthDate"] = record.date_of_birth.isoformat()
    if record.restricted:
        return resource  # no address, telecom or GP, as PDS does for a restricted patient
    if address := _address(record.address):
        resource["address"] = address
    gps = [organisation_reference(gp.organisation) for gp in record.gp_practices if gp.end_date is None]
    if gps:
        resource["generalPractitioner"] = gps
    return resource


def _period(start: datetime.date | None, end: datetime.date | None) -> dict[str, str]:
    period = {"start": start.isoformat()} if start else {}
    return period | ({"end": end.isoformat()} if end else {})


def related_person(record: ChildRecordView, index: int, carer: CarerView) -> dict[str, Any]:
    code, display = RELATIONSHIPS.get(carer.relationship, RELATIONSHIPS["other"])
    resource: dict[str, Any] = {
        "resourceType": "RelatedPerson",
        "id": f"{record.contactpoint_id}-carer-{index}",
        "patient": {"reference": f"Patient/{record.contactpoint_id}"},
        "name": [_human_name(NameView(carer.given_name, "", carer.family_name), "official")],
    }
    if carer.relationship:
        resource["relationship"] = [
            {"coding": [{"system": RELATIONSHIP_SYSTEM, "code": code, "display": display}]}
        ]
    if telecom := _telecom(carer.contact):
        resource["telecom"] = telecom
    return resource


def organization(contact: ContactView) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": organisation_id(contact),
        "identifier": [
            {"system": ORGANISATION_SYSTEM + contact.kind.replace("_", "-"), "value": contact.code}
        ],
        "name": contact.name,
    }
    if telecom := _telecom(contact):
        resource["telecom"] = telecom
    if contact.address:
        resource["address"] = [{"text": contact.address}]
    return resource


def practitioner_role(involvement: InvolvementView) -> dict[str, Any] | None:
    if involvement.practitioner is None:
        return None
    resource: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "id": f"involvement-{involvement.id}",
        "active": involvement.end_date is None,
        "practitioner": {"display": involvement.practitioner.name},
        "organization": organisation_reference(involvement.organisation),
    }
    if involvement.practitioner.title:
        resource["code"] = [{"text": involvement.practitioner.title}]
    if telecom := _telecom(involvement.practitioner):
        resource["telecom"] = telecom
    if period := _period(involvement.start_date, involvement.end_date):
        resource["period"] = period
    return resource


def episode_of_care(record: ChildRecordView, involvement: InvolvementView) -> dict[str, Any]:
    ended = involvement.end_date is not None and involvement.end_date <= datetime.date.today()
    flags = [
        text
        for text, on in (
            ("CAF", involvement.has_caf),
            ("lead professional", involvement.is_lead_professional),
        )
        if on
    ]
    resource: dict[str, Any] = {
        "resourceType": "EpisodeOfCare",
        "id": f"involvement-{involvement.id}",
        "status": "finished" if ended else "active",
        "type": [
            {
                "coding": [{"system": SERVICE_TYPE_SYSTEM, "code": involvement.service_type}],
                "text": involvement.service_type.replace("_", " "),
            }
        ],
        "patient": {"reference": f"Patient/{record.contactpoint_id}"},
        "managingOrganization": organisation_reference(involvement.organisation),
    }
    if involvement.is_sensitive:
        resource["meta"] = {
            "security": [{"system": CONFIDENTIALITY_SYSTEM, "code": "R", "display": "restricted"}]
        }
    if period := _period(involvement.start_date, involvement.end_date):
        resource["period"] = period
    if involvement.practitioner is not None:
        resource["careManager"] = {
            "reference": f"PractitionerRole/involvement-{involvement.id}",
            "display": involvement.practitioner.name,
        }
    if flags:
        resource["extension"] = [
            {"url": "https://fhir.contactpoint.gov.uk/StructureDefinition/involvement-flag", "valueString": f}
            for f in flags
        ]
    return resource
