"""Examples for the OpenAPI document: what a case-management supplier reads first."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from .serializers import ChildRecordOut  # noqa: F401 - the shapes these examples illustrate

_ORG = {
    "name": "Leeds Children's Social Care",
    "phone": "0113 222 4401",
    "email": "duty@leeds.example.gov.uk",
    "address": "Merrion House, Leeds, LS2 8BB",
    "title": "",
    "kind": "local_authority",
    "code": "383",
}
INVOLVEMENT = {
    "id": 1042,
    "organisation": _ORG,
    "service_type": "social_care",
    "practitioner": {
        "name": "Sam Okafor",
        "phone": "07700 900123",
        "email": "sam.okafor@leeds.example.gov.uk",
        "address": "",
        "title": "Social Worker",
    },
    "start_date": "2026-01-06",
    "end_date": None,
    "is_sensitive": False,
    "has_caf": True,
    "is_lead_professional": True,
    "etag": '"3f1c0a9be2d54e7f8a61c2b0d9e4f7a1"',
}
CARER = {
    "given_name": "Sara",
    "family_name": "Khan",
    "relationship": "mother",
    "has_parental_responsibility": True,
    "contact": {
        "name": "Sara Khan",
        "phone": "07700 900001",
        "email": "",
        "address": "12 Oak Road, Leeds, LS6 2AB",
        "title": "",
    },
}
CARER_OUT = OpenApiExample("A carer", value=CARER)
CHILD_RECORD = OpenApiExample(
    "A record (not shielded)",
    value={
        "id": "CP4T7KQ2M9XB0RZ",
        "shielded": False,
        "restricted": False,
        "name": {"given_name": "Amelia", "middle_names": "", "family_name": "Khan"},
        "former_names": [{"given_name": "Amelia", "middle_names": "", "family_name": "Ahmed"}],
        "gender": "female",
        "date_of_birth": "2015-03-14",
        "address": {
            "status": "current",
            "return_intent": "",
            "address_line_1": "12 Oak Road",
            "address_line_2": "",
            "town": "Leeds",
            "postcode": "LS6 2AB",
        },
        "identifiers": [{"scheme": "upn", "value": "B801200005001"}],
        "carers": [
            {
                "given_name": "Sara",
                "family_name": "Khan",
                "relationship": "mother",
                "has_parental_responsibility": True,
                "contact": {
                    "name": "Sara Khan",
                    "phone": "07700 900001",
                    "email": "",
                    "address": "12 Oak Road, Leeds, LS6 2AB",
                    "title": "",
                },
            }
        ],
        "schools": [],
        "gp_practices": [],
        "involvements": [INVOLVEMENT],
    },
)
INVOLVEMENT_OUT = OpenApiExample("An involvement", value=INVOLVEMENT)
INVOLVEMENT_IN = OpenApiExample(
    "Start working with a child",
    value={
        "service_type": "early_help",
        "start_date": "2026-11-20",
        "practitioner": {
            "given_name": "Priya",
            "family_name": "Shah",
            "job_title": "Family Support Worker",
            "phone": "0113 222 0000",
            "email": "priya.shah@leeds.example.gov.uk",
        },
    },
    request_only=True,
)
INVOLVEMENT_CHANGE_IN = OpenApiExample(
    "Become lead professional and record a CAF",
    value={"is_lead_professional": True, "has_caf": True},
    request_only=True,
)
ADDRESS_IN = OpenApiExample(
    "A new address",
    value={"status": "current", "address_line_1": "4 Elm Street", "town": "Leeds", "postcode": "LS7 1AA"},
    request_only=True,
)
ADDRESS_OUT = OpenApiExample(
    "Reported and shown",
    value={
        "source": "contactpoint-users-17",
        "source_record_id": "address-CP4T7KQ2M9XB0RZ",
        "asserted_at": "2026-11-22T09:30:00Z",
        "shown": True,
    },
)
FEED_LOADED = OpenApiExample(
    "Loaded",
    value={
        "status": "loaded",
        "feed_file": 17,
        "task": None,
        "report": {"rows_read": 2, "loaded": 2, "quarantined": 0, "warnings": {}, "refused_columns": []},
    },
)
FEED_QUEUED = OpenApiExample(
    "Queued", value={"status": "queued", "feed_file": None, "task": "7d0b6f0e-…", "report": None}
)

FEED_TASK = OpenApiExample(
    "Loaded by the worker",
    value={
        "task": "7d0b6f0e-5d1c-4f0e-9a51-0c7e2f9d8b11",
        "status": "SUCCESSFUL",
        "source": "la_childrens_services",
        "report": {"feed_file": 18, "already_loaded": False, "rows_read": 250000, "loaded": 249990},
    },
)


def _problem(status: int, title: str, detail: str, problem_type: str = "about:blank") -> OpenApiResponse:
    return OpenApiResponse(
        response=PROBLEM_SCHEMA,
        description=f"{title} (RFC 9457 problem details)",
        examples=[
            OpenApiExample(
                title,
                value={"type": problem_type, "title": title, "status": status, "detail": detail},
            )
        ],
    )


PROBLEM_SCHEMA = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
}
CRITERIA_TOO_WEAK = _problem(
    400,
    "Bad Request",
    "Search needs an NHS number, UPN or ContactPoint ID, or at least a family name and a date of birth "
    "(adding a given name, gender or postcode narrows the results).",
    "urn:contactpoint:problem:criteria-too-weak",
)
SEARCH_OUT = OpenApiExample(
    "Two matches, best first",
    value={
        "results": [
            {
                "id": "CP4T7KQ2M9XB0RZ",
                "score": 98.7,
                "given_name": "William",
                "family_name": "Hartley",
                "date_of_birth": "2015-03-14",
                "gender": "male",
                "postcode_district": "LS6",
                "matched": ["given_name", "family_name", "date_of_birth"],
                "shielded": False,
            },
            {
                "id": "CPX1M7Q0ZK3T9WB",
                "score": 61.2,
                "given_name": "Sophie",
                "family_name": "Hartley",
                "date_of_birth": "2015-03-14",
                "gender": "female",
                "postcode_district": "LS6",
                "matched": ["family_name", "date_of_birth"],
                "shielded": False,
            },
        ],
        "count": 2,
        "too_many": False,
    },
)
PROBLEM_RESPONSES = {
    400: _problem(
        400,
        "Bad Request",
        "State why you need this child's record in the X-Access-Reason header.",
        "urn:contactpoint:problem:missing-access-reason",
    ),
    401: _problem(401, "Unauthorized", "The token has expired."),
    403: _problem(403, "Forbidden", "The auditor role cannot see children's records."),
    404: _problem(404, "Not Found", "No child you may see has this ContactPoint ID."),
    409: _problem(
        409,
        "Conflict",
        "Another practitioner is already the child's lead professional; they must end that role first.",
        "urn:contactpoint:problem:conflict",
    ),
    412: _problem(
        412,
        "Precondition Failed",
        "The involvement has changed since it was read; read it again and retry.",
        "urn:contactpoint:problem:stale-etag",
    ),
    428: _problem(
        428,
        "Precondition Required",
        "Send the ETag you read in an If-Match header, so a change cannot overwrite another.",
        "urn:contactpoint:problem:if-match-required",
    ),
    429: _problem(429, "Too Many Requests", "Request was throttled. Expected available in 12 seconds."),
}
