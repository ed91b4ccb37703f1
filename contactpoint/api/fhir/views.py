"""FHIR R4 at /fhir/: the same door, the same tokens and limits, FHIR's shapes and OperationOutcome."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contactpoint.access.door import organisation_contact
from contactpoint.records.models import OrganisationKind
from contactpoint.records.selectors import organisation_by_kind_code
from contactpoint.search.selectors import CriteriaTooWeak as WeakCriteria
from contactpoint.search.selectors import children_search

from ..door import actor_of, client_of, record_for
from ..search import criteria_checked
from . import capability, mapping, search


class FhirJSONRenderer(JSONRenderer):
    media_type = "application/fhir+json"
    format = "fhir+json"


@extend_schema(exclude=True)  # described by its own CapabilityStatement at /fhir/metadata
class FhirView(APIView):
    renderer_classes = [FhirJSONRenderer, JSONRenderer]


def base_url(request: Request) -> str:
    return request.build_absolute_uri("/fhir/").rstrip("/")


def bundle(request: Request, matches: list[dict[str, Any]], includes: list[dict[str, Any]] = ()) -> dict:  # type: ignore[assignment]
    base = base_url(request)

    def entry(resource: dict[str, Any], mode: str) -> dict[str, Any]:
        return {
            "fullUrl": f"{base}/{resource['resourceType']}/{resource['id']}",
            "resource": resource,
            "search": {"mode": mode},
        }

    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(matches),
        "link": [{"relation": "self", "url": request.build_absolute_uri()}],
        "entry": [entry(r, "match") for r in matches] + [entry(r, "include") for r in includes],
    }


class MetadataView(FhirView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(capability.capability_statement(base_url(request), patient_search=True))


class PatientSearchView(FhirView):
    """The one search with FHIR's parameters; no reason needed (no record is opened)."""

    def get(self, request: Request) -> Response:
        criteria, limit = search.criteria_from(request.query_params)
        criteria = criteria_checked(criteria)
        try:
            result = children_search(
                actor=actor_of(request), criteria=criteria, limit=limit, client=client_of(request)
            )
        except WeakCriteria as exc:
            raise exceptions.ValidationError(" ".join(exc.messages)) from exc
        found = bundle(request, [search.patient_from_hit(hit) for hit in result.hits])
        for entry, hit in zip(found["entry"], result.hits, strict=True):
            entry["search"]["score"] = round(hit.score / 100, 4)
        if result.too_many:
            found["entry"] = [{"resource": search.TOO_MANY, "search": {"mode": "outcome"}}]
        return Response(found)


class PatientReadView(FhirView):
    def get(self, request: Request, id: str) -> Response:
        _, record = record_for(request, id)
        return Response(mapping.patient(record))


def _patient_param(request: Request) -> str:
    patient = request.query_params.get("patient", "").removeprefix("Patient/")
    if not patient:
        raise exceptions.ValidationError("Search by patient: ?patient=<ContactPoint ID>.")
    return patient


class RelatedPersonSearchView(FhirView):
    def get(self, request: Request) -> Response:
        _, record = record_for(request, _patient_param(request))
        people = [mapping.related_person(record, n, carer) for n, carer in enumerate(record.carers, 1)]
        return Response(bundle(request, people))


class EpisodeOfCareSearchView(FhirView):
    """Involvements, with their PractitionerRoles and Organizations included (search mode include)."""

    def get(self, request: Request) -> Response:
        _, record = record_for(request, _patient_param(request))
        episodes = [mapping.episode_of_care(record, i) for i in record.involvements]
        roles = [role for i in record.involvements if (role := mapping.practitioner_role(i))]
        organisations = {
            mapping.organisation_id(i.organisation): mapping.organization(i.organisation)
            for i in record.involvements
        }
        return Response(bundle(request, episodes, roles + list(organisations.values())))


class OrganizationReadView(FhirView):
    """Organisations are reference data (no child's data): read by kind and register code."""

    def get(self, request: Request, id: str) -> Response:
        kind, _, code = id.partition(".")
        kind = kind.replace("-", "_")
        organisation = organisation_by_kind_code(kind, code) if kind in OrganisationKind.values else None
        if organisation is None:
            raise exceptions.NotFound(f"There is no Organization {id}.")
        return Response(mapping.organization(organisation_contact(organisation)))
