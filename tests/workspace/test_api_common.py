"""What every endpoint of the API shares: one error object, who may call what, and the
OpenAPI document kept in the repository."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from retain.bootstrap import App
from retain.cli import app as cli_app
from retain.service import access
from retain.web.api.common import decode_cursor, encode_cursor
from retain.web.app import create_app
from tests.signin import member
from tests.workspace.api_shop import NOW, ApiShop, assert_error

DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"


# --- errors ----------------------------------------------------------------------------------


def test_every_kind_of_error_under_api_is_one_object(sqlite_app: App) -> None:
    client = ApiShop(sqlite_app).client("read", "ingest")
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(client.get("/api/v1/customers/999"), 404, "not_found")
    refused = client.delete("/api/v1/customers")
    assert_error(refused, 405, "method_not_allowed")
    assert "GET" in refused.headers["allow"]
    invalid = assert_error(client.get("/api/v1/customers?limit=0"), 422, "invalid_request")
    assert invalid["details"] == [
        {
            "loc": ["query", "limit"],
            "message": "Input should be greater than or equal to 1",
            "type": "greater_than_equal",
        }
    ]
    assert_error(client.get("/api/v1/customers?cursor=not-ours"), 422, "invalid_cursor")
    broken = client.post("/api/v1/orders", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(broken, 422, "invalid_request")


def test_a_parameter_given_twice_is_refused_unless_it_is_a_list(sqlite_app: App) -> None:
    client = ApiShop(sqlite_app).client("read")
    assert_error(client.get("/api/v1/customers?limit=5&limit=6"), 422, "invalid_request")
    assert client.get("/api/v1/tickets?status=open&status=pending").status_code == 200


@pytest.mark.parametrize(
    ("method", "address", "body"),
    [
        ("GET", "/api/v1/orders?until=1", None),  # not a Unix timestamp
        ("GET", "/api/v1/metrics?start=1&end=2026-01-01", None),
        ("GET", "/api/v1/codes?redeemed=1", None),
        ("POST", "/api/v1/codes", {"kind": "percent", "value": 10, "count": True}),
        ("POST", "/api/v1/codes", {"kind": "percent", "value": "10", "count": 1}),
        ("POST", "/api/v1/events", {"customer_id": 1, "event": "refunded", "ref": "r", "at": 0}),
    ],
)
def test_values_are_taken_as_the_document_types_them(
    sqlite_app: App, method: str, address: str, body: dict[str, object] | None
) -> None:
    shop = ApiShop(sqlite_app)
    shop.seed()
    client = shop.client("read", "marketing", "ingest")
    assert_error(client.request(method, address, json=body), 422, "invalid_request")


def test_an_invalid_body_is_described_without_echoing_it(sqlite_app: App) -> None:
    client = ApiShop(sqlite_app).client("ingest")
    sent = {"number": "A1", "customer": {"email": "secret.person@example.com"}, "placed_at": "yesterday",
            "currency": "USD", "total": 100}  # fmt: skip
    error = assert_error(client.post("/api/v1/orders", json=sent), 422, "invalid_request")
    assert error["details"][0]["loc"] == ["body", "placed_at"]  # type: ignore[index]
    assert "secret.person" not in json.dumps(error)
    assert "yesterday" not in json.dumps(error)


def test_an_oversized_body_is_refused_with_or_without_its_length(sqlite_app: App) -> None:
    client = ApiShop(sqlite_app).client("ingest")
    huge = json.dumps({"number": "x" * (2 << 20)}).encode()
    json_type = {"content-type": "application/json"}
    assert_error(client.post("/api/v1/orders", content=huge, headers=json_type), 413, "too_large")

    def unmeasured() -> Iterator[bytes]:  # sent in chunks: no Content-Length to refuse it by
        for start in range(0, len(huge), 1 << 16):
            yield huge[start : start + (1 << 16)]

    assert_error(client.post("/api/v1/orders", content=unmeasured(), headers=json_type), 413, "too_large")
    with sqlite_app.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM orders").scalar() == 0


def test_pages_outside_the_api_keep_their_own_errors(sqlite_app: App) -> None:
    client = member(sqlite_app, "viewer")
    page = client.get("/no-such-page")
    assert page.status_code == 404
    assert "error" not in page.json()


def test_a_failure_of_ours_is_an_error_object_and_logs_no_request_data(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shop = ApiShop(sqlite_app)
    ann = shop.customer("ann@example.com", "Ann Archer")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("ann@example.com Ann Archer")

    monkeypatch.setattr("retain.web.api.customers.view", broken)
    client = shop.client("read", raise_server_exceptions=False)
    with caplog.at_level(logging.DEBUG):
        answer = client.get(f"/api/v1/customers/{ann}")
    assert_error(answer, 500, "internal")
    assert "ann@example.com" not in answer.text
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError in GET customer" in logged
    assert "ann@example.com" not in logged
    assert "Ann" not in logged


def test_cursors_are_opaque_and_checked() -> None:
    assert decode_cursor(encode_cursor(41)) == 41
    assert decode_cursor(None) is None
    assert "41" not in encode_cursor(41)


# --- who may call what -----------------------------------------------------------------------


def test_a_request_without_credentials_is_refused(sqlite_app: App) -> None:
    client = TestClient(create_app(sqlite_app))
    assert_error(client.get("/api/v1/customers"), 401, "unauthenticated")
    assert_error(client.post("/api/v1/codes", json={"kind": "percent", "value": 10, "count": 1}),
                 401, "unauthenticated")  # fmt: skip
    wrong = TestClient(create_app(sqlite_app), headers={"Authorization": "Bearer rk_deadbeef_nope"})
    assert_error(wrong.get("/api/v1/customers"), 401, "unauthenticated")


def test_a_key_does_what_its_scopes_allow(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    reader = shop.client("read")
    assert reader.get("/api/v1/customers").status_code == 200
    assert_error(
        reader.post("/api/v1/codes", json={"kind": "percent", "value": 10, "count": 1}), 403, "forbidden"
    )
    assert_error(reader.post("/api/v1/flows/win-back/enable"), 403, "forbidden")
    feeder = shop.client("ingest")
    assert_error(feeder.get("/api/v1/customers"), 403, "forbidden")
    marketer = shop.client("marketing")
    assert (
        marketer.post("/api/v1/codes", json={"kind": "percent", "value": 10, "count": 1}).status_code == 201
    )


def test_a_revoked_key_is_refused_at_once(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    key_id, secret = shop.key("read")
    client = TestClient(create_app(sqlite_app), headers={"Authorization": f"Bearer {secret}"})
    assert client.get("/api/v1/customers").status_code == 200
    access.revoke_key(sqlite_app.unit_of_work, key_id, NOW)
    assert_error(client.get("/api/v1/customers"), 401, "unauthenticated")


def test_a_viewer_reads_but_may_not_write(sqlite_app: App) -> None:
    client = member(sqlite_app, "viewer")
    assert client.get("/api/v1/flows").status_code == 200
    assert_error(client.post("/api/v1/flows/win-back/enable"), 403, "forbidden")


def test_a_browser_session_writes_only_with_its_csrf_token(sqlite_app: App) -> None:
    client = member(sqlite_app, "marketer")
    assert client.post("/api/v1/flows/win-back/enable").json()["enabled"] is True
    token = client.headers.pop("X-CSRF-Token")
    assert_error(client.post("/api/v1/flows/win-back/disable"), 403, "csrf")
    client.headers["X-CSRF-Token"] = token
    assert client.post("/api/v1/flows/win-back/disable").json()["enabled"] is False


# --- the document ----------------------------------------------------------------------------


def test_the_served_document_is_the_one_in_the_repository(sqlite_app: App) -> None:
    """When this fails, run `retain api openapi > docs/openapi.json` and commit the change."""
    served = TestClient(create_app(sqlite_app)).get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))


def test_the_command_line_prints_the_served_document(sqlite_app: App) -> None:
    printed = CliRunner().invoke(cli_app, ["api", "openapi"])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == TestClient(create_app(sqlite_app)).get("/api/v1/openapi.json").json()


def test_the_document_describes_the_api_and_only_the_api(sqlite_app: App) -> None:
    document = TestClient(create_app(sqlite_app)).get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    assert all(path.startswith(("/api/", "/webhooks/")) for path in document["paths"])
    schemes = document["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "http", "scheme": "bearer", "bearerFormat": "rk_...",
                                 "description": "An API key."}  # fmt: skip
    assert schemes["session"]["in"] == "cookie"
    listing = document["paths"]["/api/v1/customers"]["get"]
    assert {"apiKey": []} in listing["security"]
    limit = next(p for p in listing["parameters"] if p["name"] == "limit")["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 500)
    others = {("post", "/api/v1/feedback"), ("get", "/api/v1/loyalty/{token}"),
              ("post", "/api/v1/loyalty/{token}/redeem"), ("post", "/api/v1/surveys/{token}")}  # fmt: skip
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/v1/") and (method, path) not in others:
                for status in ("401", "403", "422"):
                    schema = operation["responses"][status]["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path, status)
