"""GET /api/v1/children/search: the one search (contactpoint.search), as interfaces.md fixes it.

No reason header: a search shows no record, only the minimum a result list may (names, birth date,
gender, postcode district), and the search audits its criteria and the IDs it returned.
"""

import copy
from dataclasses import replace

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contactpoint.records.models import Gender
from contactpoint.records.services import contactpoint_id_is_valid
from contactpoint.records.validators import normalise_nhs_number, normalise_upn
from contactpoint.search.selectors import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_RANGE_DAYS,
    SearchCriteria,
    SearchResult,
    children_search,
)
from contactpoint.search.selectors import CriteriaTooWeak as WeakCriteria

from . import examples
from .door import actor_of, client_of
from .problems import PROBLEM_JSON, CriteriaTooWeak
from .serializers import StrictSerializer


class SearchIn(StrictSerializer):
    given_name = serializers.CharField(max_length=100, required=False, default="")
    family_name = serializers.CharField(max_length=100, required=False, default="")
    date_of_birth = serializers.DateField(required=False, allow_null=True, default=None)
    date_of_birth_to = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Searches a range from date_of_birth."
    )
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, default="")
    postcode = serializers.CharField(max_length=8, required=False, default="", help_text="Full or district.")
    nhs_number = serializers.CharField(max_length=12, required=False, default="")
    upn = serializers.CharField(max_length=13, required=False, default="")
    contactpoint_id = serializers.CharField(max_length=20, required=False, default="")
    exact = serializers.BooleanField(required=False, default=False, help_text="No fuzzy matching.")
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, required=False, default=DEFAULT_LIMIT)

    def get_fields(self) -> dict[str, serializers.Field]:
        """A shallow copy of each declared field, where DRF deep-copies them (running every field's
        constructor again) on each request: binding sets only the copy's own attributes, and these
        fields' validators and choices are only ever read."""
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}  # type: ignore[attr-defined]


def criteria_checked(criteria: SearchCriteria) -> SearchCriteria:
    """Input the search cannot use is a 400 saying so, before any query runs: an identifier that
    fails its check cannot match anyone, and a date range is bounded whatever else is given."""
    errors: dict[str, list[str]] = {}
    for field, valid in (
        ("nhs_number", normalise_nhs_number),
        ("upn", normalise_upn),
        ("contactpoint_id", _contactpoint_id),
    ):
        value = getattr(criteria, field)
        if value:
            try:
                criteria = replace(criteria, **{field: str(valid(value))})  # type: ignore[arg-type]
            except DjangoValidationError as exc:
                errors[field] = exc.messages
    if criteria.date_of_birth_to is not None:
        start = criteria.date_of_birth
        span = (criteria.date_of_birth_to - start).days if start else -1
        if not 0 <= span <= MAX_RANGE_DAYS:
            errors["date_of_birth_to"] = [
                "A date of birth range needs date_of_birth, runs forwards and spans at most a year."
            ]
    if errors:
        raise serializers.ValidationError(errors)
    return criteria


def _contactpoint_id(value: str) -> str:
    value = value.strip().upper()
    if not contactpoint_id_is_valid(value):
        raise DjangoValidationError(f"{value!r} is not a ContactPoint ID (check the characters).")
    return value


class SearchHitOut(serializers.Serializer):
    id = serializers.CharField(help_text="The ContactPoint ID: open the record with it.")
    score = serializers.FloatField(help_text="0 to 100, best first.")
    given_name = serializers.CharField()
    family_name = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    gender = serializers.CharField()
    postcode_district = serializers.CharField()
    matched = serializers.ListField(child=serializers.CharField())
    shielded = serializers.BooleanField()


class SearchOut(serializers.Serializer):
    results = SearchHitOut(many=True)
    count = serializers.IntegerField()
    too_many = serializers.BooleanField(
        help_text="More strong matches than the limit: add detail (no list is returned)."
    )


class ChildSearchApi(APIView):
    @extend_schema(
        operation_id="children_search",
        summary="Find a child",
        description=(
            "An NHS number, UPN or ContactPoint ID, or at least a family name and a date of birth "
            "(a given name, gender or postcode narrows). Fuzzy unless `exact`: typos, sound-alikes, "
            "nicknames, swapped names and day/month, former names. A shielded child is found only by "
            "name, gender and date of birth."
        ),
        tags=["Children"],
        parameters=[SearchIn],
        responses={
            (200, "application/json"): OpenApiResponse(SearchOut, examples=[examples.SEARCH_OUT]),
            (400, PROBLEM_JSON): examples.CRITERIA_TOO_WEAK,
            **{(c, PROBLEM_JSON): examples.PROBLEM_RESPONSES[c] for c in (401, 403, 429)},
        },
    )
    def get(self, request: Request, version: str = "v1") -> Response:
        query = SearchIn(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        limit = data.pop("limit")
        try:
            result = children_search(
                actor=actor_of(request),
                criteria=criteria_checked(SearchCriteria(**data)),
                limit=limit,
                client=client_of(request),
            )
        except WeakCriteria as exc:
            raise CriteriaTooWeak(" ".join(exc.messages)) from exc
        return Response(search_out(result))


def search_out(result: SearchResult) -> dict:
    """What SearchOut renders (the schema documents that serializer; a test holds the two equal),
    built directly: the serializer's per-request field copies cost more than the search's audit."""
    hits = [
        {
            "id": hit.id,
            "score": float(hit.score),
            "given_name": hit.given_name,
            "family_name": hit.family_name,
            "date_of_birth": hit.date_of_birth.isoformat() if hit.date_of_birth else None,
            "gender": hit.gender,
            "postcode_district": hit.postcode_district,
            "matched": list(hit.matched),
            "shielded": hit.shielded,
        }
        for hit in result.hits
    ]
    return {"results": hits, "count": len(hits), "too_many": result.too_many}
