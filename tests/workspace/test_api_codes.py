"""Discount codes through the API: issuing them and reading which were redeemed."""

from __future__ import annotations

from sqlalchemy import func, select

from retain.bootstrap import App
from retain.store.tables import discount_codes
from tests.workspace.api_shop import ApiShop, assert_error
from tests.workspace.test_api_customers import walk


def stored(app: App) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(discount_codes)) or 0)


def test_codes_are_issued_for_anyone_or_for_customers_and_listed(app: App) -> None:
    shop = ApiShop(app)
    ids = shop.seed()
    client = shop.client("read", "marketing")
    spring_sale = {"kind": "percent", "value": 15, "count": 3, "purpose": "spring", "valid_days": 14}
    anyone = client.post("/api/v1/codes", json=spring_sale)
    assert anyone.status_code == 201, anyone.text
    made = anyone.json()
    assert (len(made["codes"]), made["currency"], made["expires_at"]) == (
        3,
        "USD",
        "2026-03-16T23:59:59.999999Z",
    )
    owned = client.post(
        "/api/v1/codes", json={"kind": "free_shipping", "customer_ids": [ids["ann"], ids["bob"]]}
    )
    assert owned.status_code == 201
    spring, pages = walk(client, "/api/v1/codes?purpose=spring&limit=2")
    assert sorted(c["code"] for c in spring) == sorted(made["codes"])
    assert pages == 2
    assert all(c["customer_id"] is None and c["value"] == 15 for c in spring)
    mine = client.get("/api/v1/codes", params={"customer_id": ids["bob"]}).json()["items"]
    assert [c["kind"] for c in mine] == ["free_shipping"]
    assert len(client.get("/api/v1/codes", params={"redeemed": False}).json()["items"]) == 5
    assert client.get("/api/v1/codes", params={"redeemed": True}).json()["items"] == []


def test_a_code_request_that_cannot_be_honoured_issues_nothing(app: App) -> None:
    shop = ApiShop(app)
    ann = shop.customer("ann@example.com")
    client = shop.client("marketing")
    unknown = {"kind": "fixed", "value": 500, "customer_ids": [ann, 999_999]}
    error = assert_error(client.post("/api/v1/codes", json=unknown), 422, "invalid_discount")
    assert "999999" in error["message"]
    assert_error(
        client.post("/api/v1/codes", json={"kind": "percent", "value": 150, "count": 1}),
        422,
        "invalid_discount",
    )
    assert_error(client.post("/api/v1/codes", json={"kind": "percent", "value": 10}), 422, "invalid_request")
    both = {"kind": "percent", "value": 10, "count": 1, "customer_ids": [ann]}
    assert_error(client.post("/api/v1/codes", json=both), 422, "invalid_request")
    assert_error(
        client.post("/api/v1/codes", json={"kind": "percent", "value": 10, "count": 1_001}),
        422,
        "invalid_request",
    )
    assert stored(app) == 0
