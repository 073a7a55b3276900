"""Property-based tests against the project's own OpenAPI schema (schemathesis): whatever the input, no call
answers 5xx, and every answer — status, content type, headers and body — is the one the schema documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(autouse=True)
def _keep_the_tests_connection() -> Any:
    """The calls go straight into the WSGI application; like Django's test client, keep it from closing the test's
    database connection (inside the test's transaction) at the start and end of each request."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def owner_token(cast, make_token, uploaded, settings: Any) -> str:
    settings.API_RATE_LIMIT = 100_000
    return make_token(cast.owner)


# Loaded through the WSGI application, as a client would fetch it; the calls go through the same application.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=6,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_keeps_to_its_schema(case: Any, owner_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {owner_token}"}, checks=CHECKS)


def test_the_schema_documents_every_call_and_bearer_auth(client) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("GET", "/api/v1/administrations/"),
        ("GET", "/api/v1/administrations/{administration_id}"),
        ("POST", "/api/v1/administrations/{administration_id}/backups"),
        ("GET", "/api/v1/administrations/{administration_id}/aftercare"),
        ("GET", "/api/v1/backups/"),
        ("GET", "/api/v1/backups/{backup_id}"),
        ("DELETE", "/api/v1/backups/{backup_id}"),
        ("GET", "/api/v1/backups/{backup_id}/download"),
        ("POST", "/api/v1/backups/upload"),
        ("POST", "/api/v1/backups/{backup_id}/restore"),
        ("GET", "/api/v1/jobs/{job_id}"),
        ("POST", "/api/v1/aftercare-items/{item_id}/resolve"),
    }


def test_the_schema_has_no_duplicate_keys(client) -> None:
    # Swagger UI refuses a document with a key twice (it happened with an int and a str status code).
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=no_duplicates)
