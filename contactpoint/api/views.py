"""The REST API (/api/v1/). Thin: each view reads through the door or calls an access service,
and serializes what came back. Errors are raised, and problems.exception_handler answers them."""

import datetime
import hashlib
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contactpoint.access.door import InvolvementView, involvement_view
from contactpoint.access.services import address_change_report
from contactpoint.audit.models import EventType
from contactpoint.feeds.formats.base import UnreadableFile
from contactpoint.feeds.selectors import MAY_SUBMIT_FEED
from contactpoint.feeds.services import feed_submit
from contactpoint.feeds.tasks import load_feed_task
from contactpoint.records.models import Source
from contactpoint.records.selectors import involvement_live_id
from contactpoint.records.services import involvement_role_refusal, own_involvement_record

from . import examples, serializers
from .door import REASON_HEADER, access_reason, actor_of, child_or_404, record_for, refuse_role
from .pagination import Pagination
from .problems import PROBLEM_JSON, PreconditionRequired
from .throttling import FeedRateThrottle, TokenRateThrottle

REASON = OpenApiParameter(
    REASON_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Why you need this child's record (recorded in the audit log).",
    examples=[OpenApiExample("reason", value="Section 47 enquiry opened today")],
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="The ETag you read; a change to what someone else changed meanwhile is refused (412).",
)
CHILD_ID = OpenApiParameter(
    "id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The child's ContactPoint ID."
)


def _errors(*codes: int) -> dict:
    return {(code, PROBLEM_JSON): examples.PROBLEM_RESPONSES[code] for code in codes}


def _ok(code: int, serializer, *example: OpenApiExample) -> dict:
    return {(code, "application/json"): OpenApiResponse(serializer, examples=list(example))}


def etag_of(data: object) -> str:
    body = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder).encode()
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


class ChildRecordApi(APIView):
    @extend_schema(
        operation_id="child_read",
        tags=["Children"],
        summary="Read a child's record, as you may see it",
        parameters=[CHILD_ID, REASON],
        responses={
            **_ok(200, serializers.ChildRecordOut, examples.CHILD_RECORD),
            **_errors(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request, id: str, version: str = "v1") -> Response:
        _, record = record_for(request, id)
        data = serializers.ChildRecordOut(record).data
        return Response(data, headers={"ETag": etag_of(data)})


class ChildCarersApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="child_carers_list",
        tags=["Children"],
        summary="List the child's carers",
        description="A shielded child's carers show their names only (no contact details).",
        parameters=[CHILD_ID, REASON],
        responses={
            **_ok(200, serializers.CarerOut(many=True), examples.CARER_OUT),
            **_errors(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request, id: str, version: str = "v1") -> Response:
        _, record = record_for(request, id)
        paginator = Pagination()
        page = paginator.paginate_queryset(record.carers, request, view=self)  # type: ignore[arg-type]
        return paginator.get_paginated_response(serializers.CarerOut(page, many=True).data)


def _if_match(request: Request) -> str:
    raw = request.headers.get("If-Match", "").strip()
    if not raw:
        raise PreconditionRequired()
    return raw.removeprefix("W/").strip('"')


def _involvement_response(
    involvement: InvolvementView, *, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    data = serializers.InvolvementOut(involvement).data
    etag = {"ETag": f'"{involvement.version}"'}
    return Response(data, status=status_code, headers={**etag, **(headers or {})})


class ChildInvolvementsApi(APIView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="child_involvements_list",
        tags=["Involvements"],
        summary="List who is working with the child",
        parameters=[CHILD_ID, REASON],
        responses={
            **_ok(200, serializers.InvolvementOut(many=True), examples.INVOLVEMENT_OUT),
            **_errors(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request, id: str, version: str = "v1") -> Response:
        _, record = record_for(request, id)
        paginator = Pagination()
        page = paginator.paginate_queryset(record.involvements, request, view=self)  # type: ignore[arg-type]
        return paginator.get_paginated_response(serializers.InvolvementOut(page, many=True).data)

    @extend_schema(
        operation_id="child_involvement_start",
        tags=["Involvements"],
        summary="Record that you (your organisation) are working with the child",
        description=(
            "A token acts for its user: this is the same involvement the user keeps on the web pages, "
            "one per user and child. While it is current, a second start is refused (409): change it "
            "with PATCH instead. Sensitive services need their basis."
        ),
        parameters=[CHILD_ID, REASON],
        request=serializers.InvolvementIn,
        examples=[examples.INVOLVEMENT_IN],
        responses={
            **_ok(201, serializers.InvolvementOut, examples.INVOLVEMENT_OUT),
            **_errors(400, 401, 403, 404, 409, 429),
        },
    )
    def post(self, request: Request, id: str, version: str = "v1") -> Response:
        actor = actor_of(request)
        if refusal := involvement_role_refusal(actor):  # before the ID, as a record read does
            raise refuse_role(actor, id, refusal, event_type=EventType.CHANGE)
        reason = access_reason(request)
        child = child_or_404(id)
        data = _valid(serializers.InvolvementIn, request)
        recorded = own_involvement_record(
            actor=actor,
            child=child,
            reason=reason,
            changes={
                "service_type": data["service_type"],
                "start_date": data.get("start_date") or datetime.date.today(),
                "sensitive_basis": data["sensitive_basis"],
                "has_caf": data["has_caf"],
                "is_lead_professional": data["is_lead_professional"],
                **(data.get("practitioner") or {}),
            },
            expected_version=None,
        )
        involvement = involvement_view(recorded.involvement)
        return _involvement_response(
            involvement, status_code=201, headers={"Location": _address_of(request, involvement)}
        )


def _address_of(request: Request, involvement: InvolvementView) -> str:
    """Where an involvement lives now: after a change, the new row's id (the old one still leads here)."""
    collection = request.path.rstrip("/")
    if "/involvements/" in collection:
        collection = collection.rsplit("/", 1)[0]
    return request.build_absolute_uri(f"{collection}/{involvement.id}")


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ChildInvolvementApi(APIView):
    @extend_schema(
        operation_id="child_involvement_read",
        tags=["Involvements"],
        summary="Read one involvement (and its ETag)",
        parameters=[CHILD_ID, REASON],
        responses={
            **_ok(200, serializers.InvolvementOut, examples.INVOLVEMENT_OUT),
            **_errors(400, 401, 403, 404, 429),
        },
    )
    def get(self, request: Request, id: str, involvement_id: int, version: str = "v1") -> Response:
        child, record = record_for(request, id)
        live_id = involvement_live_id(child=child, involvement_id=involvement_id)
        for involvement in record.involvements:
            if live_id is not None and involvement.id == live_id:
                moved = (
                    {"Content-Location": _address_of(request, involvement)}
                    if live_id != involvement_id
                    else {}
                )
                return _involvement_response(involvement, headers=moved)
        raise exceptions.NotFound("The record you may see has no such involvement.")

    @extend_schema(
        operation_id="child_involvement_change",
        tags=["Involvements"],
        summary="End your involvement, make it lead professional, or record a CAF",
        description=(
            "Every change is kept as history: the changed involvement gets a new `id`, given in the "
            "response and its `Location` header. An earlier id of the same involvement still leads to "
            "the current one, and the ETag still refuses a change to a copy that is out of date (412)."
        ),
        parameters=[CHILD_ID, REASON, IF_MATCH],
        request=serializers.InvolvementChangeIn,
        examples=[examples.INVOLVEMENT_CHANGE_IN],
        responses={
            **_ok(200, serializers.InvolvementOut, examples.INVOLVEMENT_OUT),
            **_errors(400, 401, 403, 404, 409, 412, 428, 429),
        },
    )
    def patch(self, request: Request, id: str, involvement_id: int, version: str = "v1") -> Response:
        actor = actor_of(request)
        reason = access_reason(request)
        child = child_or_404(id)
        expected = _if_match(request)
        changes = _valid(serializers.InvolvementChangeIn, request)
        recorded = own_involvement_record(
            actor=actor,
            child=child,
            reason=reason,
            involvement_id=involvement_id,
            expected_version=expected,
            changes=changes,
        )
        involvement = involvement_view(recorded.involvement)
        return _involvement_response(involvement, headers={"Location": _address_of(request, involvement)})


class ChildAddressApi(APIView):
    @extend_schema(
        operation_id="child_address_report",
        tags=["Children"],
        summary="Report a change of the child's address, as your organisation",
        description=(
            "Your organisation becomes a source of the child's address, with provenance; the record "
            "shows it unless a more authoritative source says otherwise (survivorship). A shielded "
            "child's address can only be changed by those who can see it."
        ),
        parameters=[CHILD_ID, REASON],
        request=serializers.AddressIn,
        examples=[examples.ADDRESS_IN],
        responses={
            **_ok(201, serializers.AddressReportOut, examples.ADDRESS_OUT),
            **_errors(400, 401, 403, 404, 429),
        },
    )
    def post(self, request: Request, id: str, version: str = "v1") -> Response:
        actor = actor_of(request)
        reason = access_reason(request)
        child = child_or_404(id)
        data = _valid(serializers.AddressIn, request)
        report = address_change_report(actor=actor, child=child, reason=reason, address=data)
        return Response(serializers.AddressReportOut(report).data, status=status.HTTP_201_CREATED)


class FeedFilesApi(APIView):
    throttle_classes = [TokenRateThrottle, FeedRateThrottle]

    @extend_schema(
        operation_id="feed_submit",
        tags=["Feeds"],
        summary="Submit a feed file for a source your organisation runs",
        description=(
            "The same validation and loading as `contactpoint load_feed`. Small files load while you "
            "wait (200, with the load report); larger ones are queued (202). Re-sending a loaded file "
            "changes nothing."
        ),
        request={"multipart/form-data": serializers.FeedFileIn},
        responses={
            **_ok(200, serializers.FeedReportOut, examples.FEED_LOADED),
            **_ok(202, serializers.FeedReportOut, examples.FEED_QUEUED),
            **_errors(400, 401, 403, 404, 429),
        },
    )
    def post(self, request: Request, source: str, version: str = "v1") -> Response:
        actor = actor_of(request)
        feed_source = Source.objects.filter(code=source).first()
        if feed_source is None:
            raise exceptions.NotFound(f"There is no source {source!r}.")
        if not MAY_SUBMIT_FEED.allows(actor, feed_source):
            raise exceptions.PermissionDenied("Your token may not submit files for this source.")
        data = _valid(serializers.FeedFileIn, request)
        try:
            submitted = feed_submit(
                source_code=source, upload=data["file"], extracted_at=data.get("extracted_at")
            )
        except (ValidationError, UnreadableFile) as exc:
            raise exceptions.ValidationError({"file": [getattr(exc, "message", None) or str(exc)]}) from exc
        if submitted.loaded is None:
            queued = {"status": "queued", "feed_file": None, "task": submitted.task_id, "report": None}
            return Response(queued, status=status.HTTP_202_ACCEPTED)
        loaded = submitted.loaded
        body: dict[str, Any] = {
            "status": "already_loaded" if loaded.already_loaded else "loaded",
            "feed_file": loaded.feed_file.pk,
            "task": None,
            "report": loaded.report,
        }
        return Response(body)


class FeedTaskApi(APIView):
    @extend_schema(
        operation_id="feed_task_read",
        tags=["Feeds"],
        summary="Follow a queued feed load",
        description="READY or RUNNING until the worker has loaded it; then SUCCESSFUL with the report.",
        responses={**_ok(200, serializers.FeedTaskOut, examples.FEED_TASK), **_errors(401, 403, 404, 429)},
    )
    def get(self, request: Request, task_id: str, version: str = "v1") -> Response:
        actor = actor_of(request)
        try:
            result = load_feed_task.get_result(task_id)
        except (TaskResultDoesNotExist, NotImplementedError, ValueError, ValidationError) as exc:
            raise exceptions.NotFound("There is no queued feed load with this id.") from exc
        feed_source = Source.objects.filter(code=result.args[0]).first() if result.args else None
        if feed_source is None or not MAY_SUBMIT_FEED.allows(actor, feed_source):
            raise exceptions.NotFound("There is no queued feed load with this id.")
        report = result.return_value if result.status == TaskResultStatus.SUCCESSFUL else None
        body = {"task": str(result.id), "status": result.status, "source": feed_source.code, "report": report}
        return Response(body)
