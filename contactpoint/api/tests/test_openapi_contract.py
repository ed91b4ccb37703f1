"""Schemathesis against the OpenAPI document: no server errors, no response that breaks the schema.

Examples are bounded and derandomised so the run is the same every time and takes seconds. IDs in
paths point at a real child and involvement, so responses with bodies are exercised, not only 404s;
the headers and bodies are schemathesis's own (missing reasons, stale ETags, malformed input).
"""

import re

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import World

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _keep_the_test_connection():
    """Calls go through the WSGI handler, whose request signals would close the test's connection
    (and its transaction) on PostgreSQL; Django's own test client disconnects them too."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def contract_world(db, tmp_path, settings, _keep_the_test_connection):
    settings.CONTACTPOINT_FEED_UPLOAD_DIR = tmp_path
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100000/min", "feed": "100000/min"},
    }
    world = World()
    return world, world.token("contract", "practitioner", world.la)


# Served by the application itself, as a client would fetch it (no database needed for that).
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_the_api_keeps_to_its_openapi_document(case, contract_world):
    world, token = contract_world
    if "id" in case.path_parameters:
        case.path_parameters["id"] = world.child.contactpoint_id
    if "involvement_id" in case.path_parameters:
        case.path_parameters["involvement_id"] = world.fed_involvement.pk
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    case.call_and_validate(checks=CHECKS)


def test_the_schema_and_its_docs_pages_are_served_without_a_token(client):
    document = client.get("/api/schema/?format=json").json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for page in ("/api/docs/", "/api/docs/try/"):
        response = client.get(page)
        assert response.status_code == 200 and b"/api/schema/" in response.content
        assets = re.findall(r'(?:src|href)="([^"]+)"', response.content.decode())
        assert assets and all(a.startswith("/static/") for a in assets), assets  # nothing from outside


def test_every_operation_documents_an_example_and_its_errors(client):
    document = client.get("/api/schema/?format=json").json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, (method, path)
            for code in success:
                content = responses[code]["content"]["application/json"]
                assert content.get("examples"), (method, path, code)
            assert {"401", "429"} <= set(responses), (method, path)
            assert all(
                "application/problem+json" in responses[c]["content"] for c in responses if c[0] in "45"
            )
