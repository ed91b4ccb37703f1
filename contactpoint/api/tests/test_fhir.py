"""FHIR R4: resources valid against the R4 models (fhir.resources' R4B package, which shares R4's
Patient, RelatedPerson, Organization, PractitionerRole, EpisodeOfCare, Bundle and OperationOutcome),
shielding as PDS does it, and OperationOutcome errors."""

import pytest
from fhir.resources.R4B import get_fhir_model_class

from contactpoint.api.fhir.mapping import NHS_NUMBER_SYSTEM

from .conftest import client_for

pytestmark = pytest.mark.django_db


def valid_r4(resource: dict) -> dict:
    """Validates against the R4 structure (raises on any error), including every bundled resource."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    for entry in resource.get("entry", []):
        valid_r4(entry["resource"])
    return resource


def test_metadata_is_a_capability_statement_without_a_token(world):
    response = client_for(None, reason=None).get("/fhir/metadata")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    statement = valid_r4(response.json())
    assert statement["fhirVersion"] == "4.0.1"
    assert {r["type"] for r in statement["rest"][0]["resource"]} >= {
        "Patient",
        "RelatedPerson",
        "EpisodeOfCare",
    }


def test_patient_read(world):
    nurse = client_for(world.token("nurse", organisation=world.nhs))
    response = nurse.get(f"/fhir/Patient/{world.child.contactpoint_id}")
    assert response.status_code == 200, response.content
    patient = valid_r4(response.json())
    assert patient["id"] == world.child.contactpoint_id
    assert patient["name"][0] == {"use": "official", "family": "Khan", "given": ["Amelia"]}
    assert patient["name"][1]["use"] == "old"
    assert (patient["gender"], patient["birthDate"]) == ("female", "2015-03-14")
    assert patient["address"][0]["postalCode"] == "LS6 2AB"
    assert patient["generalPractitioner"][0]["reference"] == f"Organization/gp-practice.{world.gp.code}"
    assert any(i["system"] == NHS_NUMBER_SYSTEM for i in patient["identifier"])
    assert patient["meta"]["security"][0]["code"] == "U"


def test_a_shielded_patient_has_no_address_telecom_or_gp_and_a_restricted_label(world):
    world.shield()
    patient = valid_r4(
        client_for(world.token("nurse", organisation=world.nhs))
        .get(f"/fhir/Patient/{world.child.contactpoint_id}")
        .json()
    )
    assert patient["meta"]["security"][0]["code"] == "R"
    assert {"address", "telecom", "generalPractitioner"} & set(patient) == set()
    assert [i["system"] for i in patient["identifier"]] == [
        "https://fhir.contactpoint.gov.uk/Id/contactpoint-id"
    ]
    assert patient["name"][0]["family"] == "Khan"


def test_patient_read_errors_are_operation_outcomes(world):
    child = world.child.contactpoint_id
    cases = [
        (client_for(world.token("pat"), reason=None), f"/fhir/Patient/{child}", 400, "invalid"),
        (client_for(None), f"/fhir/Patient/{child}", 401, "login"),
        (client_for(world.token("aud", "auditor", world.la)), f"/fhir/Patient/{child}", 403, "forbidden"),
        (client_for(world.token("pat")), "/fhir/Patient/CP0000000000000", 404, "not-found"),
        (client_for(world.token("pat")), "/fhir/NoSuchResource", 404, "not-found"),
    ]
    for client, path, status, code in cases:
        response = client.get(path)
        assert response.status_code == status, path
        assert response["Content-Type"] == "application/fhir+json"
        outcome = valid_r4(response.json())
        assert outcome["issue"][0]["code"] == code


def test_carers_as_related_persons(world, practitioner):
    bundle = valid_r4(practitioner.get(f"/fhir/RelatedPerson?patient={world.child.contactpoint_id}").json())
    assert bundle["type"] == "searchset" and bundle["total"] == 1
    person = bundle["entry"][0]["resource"]
    assert person["relationship"][0]["coding"][0]["code"] == "MTH"
    assert person["telecom"] == [{"system": "phone", "value": "07700 900001"}]


def test_involvements_as_episodes_of_care_with_roles_and_organisations(world, practitioner):
    bundle = valid_r4(
        practitioner.get(f"/fhir/EpisodeOfCare?patient=Patient/{world.child.contactpoint_id}").json()
    )
    modes = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in bundle["entry"]]
    assert modes == [("EpisodeOfCare", "match"), ("PractitionerRole", "include"), ("Organization", "include")]
    episode = bundle["entry"][0]["resource"]
    assert episode["status"] == "active" and episode["type"][0]["coding"][0]["code"] == "social_care"
    assert (
        episode["careManager"]["reference"]
        == bundle["entry"][1]["resource"]["resourceType"] + "/" + bundle["entry"][1]["resource"]["id"]
    )


def test_a_search_without_a_patient_is_400(world, practitioner):
    response = practitioner.get("/fhir/EpisodeOfCare")
    assert response.status_code == 400
    valid_r4(response.json())


def test_organization_read(world, practitioner):
    response = practitioner.get(f"/fhir/Organization/local-authority.{world.la.code}")
    assert response.status_code == 200
    assert valid_r4(response.json())["name"] == "Leeds"
    assert practitioner.get("/fhir/Organization/school.nope").status_code == 404
    assert practitioner.get("/fhir/Organization/nonsense").status_code == 404
