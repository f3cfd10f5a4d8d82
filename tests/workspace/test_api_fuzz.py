"""The API fuzzed from its own OpenAPI document: every operation under /api/v1 gets valid and
invalid requests, made by schemathesis from the document, with an admin's API key, against
a small store. No answer may be a server error, every answer of the operations this package
documents must match the document (a documented status, content type and schema), invalid
data must be refused, and the same request without the key must be refused too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from retain.bootstrap import App, bootstrap
from retain.web.api.document import openapi_document
from retain.web.app import create_app
from tests.workspace.api_shop import ApiShop

EXAMPLES = 10  # per operation and mode
# Each of these reads the store's orders into the analytics engine, a second or two on
# SQLite: a few examples cover their few parameters.
SLOW = {"/api/v1/segments", "/api/v1/segments/{name}/members", "/api/v1/cohorts", "/api/v1/metrics"}
SLOW_EXAMPLES = 2
# Endpoints of other modules, for customers' signed tokens and platforms' signed webhooks,
# read their bodies by hand and document no responses: fuzzed for server errors only.
OTHERS = {
    ("GET", "/api/v1/loyalty/{token}"),
    ("POST", "/api/v1/loyalty/{token}/redeem"),
    ("POST", "/api/v1/surveys/{token}"),
    ("POST", "/api/v1/feedback"),
}
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    ignored_auth,
]


def operations() -> list[tuple[str, str, GenerationMode]]:
    """Every operation under /api/v1, with valid data and, where it can be made, invalid."""
    document = openapi_document(create_app(App("sqlite://")))
    found = sorted(
        (method.upper(), path)
        for path, ops in document["paths"].items()
        if path.startswith("/api/v1/")
        for method in ops
    )
    # Without parameters or a body, a bare token in the path or a body read by hand, there is
    # nothing to make invalid.
    inputs = {
        (method.upper(), path)
        for path, ops in document["paths"].items()
        for method, operation in ops.items()
        if operation.get("parameters") or "requestBody" in operation
    }
    return [(m, p, GenerationMode.POSITIVE) for m, p in found] + [
        (m, p, GenerationMode.NEGATIVE) for m, p in found if (m, p) in inputs and (m, p) not in OTHERS
    ]


@dataclass
class Fuzzed:
    schema: Any
    headers: dict[str, str]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """One store for the module: the fuzzing only adds to it, and making the store and the
    application for each operation would take most of the time."""
    app = bootstrap(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'retain.db'}")
    shop = ApiShop(app)
    shop.seed()
    _, secret = shop.key("read", "support", "marketing", "ingest", name="admin")
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(app))
    yield Fuzzed(schema, {"Authorization": f"Bearer {secret}"})
    app.close()


@pytest.mark.parametrize(("method", "path", "mode"), operations(), ids=lambda value: str(value))
def test_no_request_makes_the_api_fail(fuzzed: Fuzzed, method: str, path: str, mode: GenerationMode) -> None:
    operation = fuzzed.schema[path][method]
    checks = [not_a_server_error] if (method, path) in OTHERS else CONFORMANCE
    examples = SLOW_EXAMPLES if path in SLOW else EXAMPLES

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=fuzzed.headers, checks=checks)

    call()
