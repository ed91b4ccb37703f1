"""Every error under /api/ is an RFC 9457 problem details body; under /fhir/ a FHIR OperationOutcome.

One exception handler maps what the layers below raise (DRF's exceptions, Django's validation and
permission errors, the records layer's conflicts) to a status, so no view decides that by itself.
"""

import logging
from http import HTTPStatus
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from contactpoint.records.services import ChangeConflict, StaleChange
from contactpoint.records.statutory import NonStatutoryFieldError
from contactpoint.retention.selectors import ChildArchived

from .authentication import REALM, InvalidToken

NO_SUCH_CHILD = "No child you may see has this ContactPoint ID."

logger = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
FHIR_JSON = "application/fhir+json"
PROBLEM_TYPE = "urn:contactpoint:problem:"


class Problem(exceptions.APIException):
    """An error with its own problem type, named so clients can branch on it."""

    problem_type = "about:blank"

    def __init__(self, detail: str | None = None):
        super().__init__(detail)


class MissingReason(Problem):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "State why you need this child's record in the X-Access-Reason header."
    problem_type = PROBLEM_TYPE + "missing-access-reason"


class PreconditionRequired(Problem):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = "Send the ETag you read in an If-Match header, so a change cannot overwrite another."
    problem_type = PROBLEM_TYPE + "if-match-required"


class PreconditionFailed(Problem):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource has changed since it was read; read it again and retry."
    problem_type = PROBLEM_TYPE + "stale-etag"


class Conflict(Problem):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The change conflicts with the record as it stands."
    problem_type = PROBLEM_TYPE + "conflict"


class CriteriaTooWeak(Problem):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The search criteria are below the minimum."
    problem_type = PROBLEM_TYPE + "criteria-too-weak"


def _as_api_exception(exc: Exception) -> Exception:
    """Errors the service layers raise, as the HTTP errors they mean."""
    if isinstance(exc, StaleChange):
        return PreconditionFailed(str(exc))
    if isinstance(exc, ChangeConflict):
        return Conflict(str(exc))
    if isinstance(exc, NonStatutoryFieldError):
        return exceptions.ValidationError({field: [str(exc)] for field in exc.fields})
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return exceptions.ValidationError(errors)
    if isinstance(exc, ChildArchived):  # depends on the child: answered like an ID never issued
        return exceptions.NotFound(NO_SUCH_CHILD)
    if isinstance(exc, ObjectDoesNotExist):
        return exceptions.NotFound()
    return exc


def _detail_text(data: Any) -> tuple[str, dict[str, Any] | None]:
    """DRF's error data as one sentence, plus the per-field errors for a validation failure."""
    if isinstance(data, dict) and "detail" in data and len(data) == 1:
        return str(data["detail"]), None
    if isinstance(data, dict):
        return "The request has errors; see `errors`.", {key: _flatten(value) for key, value in data.items()}
    if isinstance(data, list):
        return " ".join(str(item) for item in data), None
    return str(data), None


def _flatten(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _flatten(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_flatten(item) for item in value]
    return str(value)


def problem_body(status_code: int, detail: str, *, problem_type: str = "about:blank", **extra) -> dict:
    return {
        "type": problem_type,
        "title": HTTPStatus(status_code).phrase,
        "status": status_code,
        "detail": detail,
        **extra,
    }


FHIR_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    428: "required",
    429: "throttled",
}


def operation_outcome(status_code: int, detail: str) -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error" if status_code < 500 else "fatal",
                "code": FHIR_ISSUE_CODES.get(status_code, "exception"),
                "diagnostics": detail,
            }
        ],
    }


def _is_fhir(request: HttpRequest | None) -> bool:
    return request is not None and request.path.startswith("/fhir/")


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a server error: handler500 answers, in the same format
    detail, errors = _detail_text(response.data)
    request = context.get("request")
    if _is_fhir(request):
        response.data = operation_outcome(response.status_code, detail)
        response.content_type = FHIR_JSON
    else:
        extra: dict[str, Any] = {"instance": request.path} if request is not None else {}
        if errors is not None:
            extra["errors"] = errors
        problem_type = getattr(exc, "problem_type", "about:blank")
        response.data = problem_body(response.status_code, detail, problem_type=problem_type, **extra)
        response.content_type = PROBLEM_JSON
    if isinstance(exc, InvalidToken):
        response["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    return response


def _error_response(request: HttpRequest, status_code: int, detail: str) -> JsonResponse:
    if _is_fhir(request):
        return JsonResponse(
            operation_outcome(status_code, detail), status=status_code, content_type=FHIR_JSON
        )
    body = problem_body(status_code, detail, instance=request.path)
    return JsonResponse(body, status=status_code, content_type=PROBLEM_JSON)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/fhir/"))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: an unknown URL under /api/ or /fhir/ answers in that API's error format."""
    if _is_api(request):
        return _error_response(request, 404, "There is nothing at this address.")
    return defaults.page_not_found(request, exception)


@csrf_exempt  # it changes nothing; a POST to a wrong address is a 404, not a CSRF failure
def unknown_address(request: HttpRequest, rest: str = "") -> HttpResponse:
    """The last route under /api/ and /fhir/: a 404 in the API's format even while debugging."""
    return _error_response(request, 404, "There is nothing at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _error_response(request, 500, "The server failed; the failure has been logged.")
    return defaults.server_error(request)
