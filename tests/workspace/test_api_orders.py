"""Orders and customer events through the API: reading them, and sending them in one by one
the way a store's integration does."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from retain.bootstrap import App
from retain.service.imports import import_orders
from retain.store.tables import customers, orders
from tests.workspace.api_shop import NOW, ApiShop, assert_error
from tests.workspace.test_api_customers import walk


def order(number: str = "A-100", **changes: Any) -> dict[str, Any]:
    sent = {
        "number": number,
        "customer": {
            "id": "cust-7",
            "email": "Dana@Example.com",
            "name": "Dana Day",
            "accepts_marketing": True,
        },
        "placed_at": "2026-02-20T09:30:00+01:00",
        "currency": "EUR",
        "total": 4_250,
        "shipping": 450,
        "financial_status": "paid",
        "lines": [
            {"sku": "MUG", "title": "Mug", "quantity": 2, "unit_price": 1_200},
            {"sku": "TEA", "title": "Tea", "category": "food", "unit_price": 1_400},
        ],
    }
    return sent | changes


def count(app: App, table: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_orders_are_filtered_by_customer_time_and_status(app: App) -> None:
    shop = ApiShop(app)
    ids = shop.seed()
    client = shop.client("read")

    def numbers(**params: Any) -> list[int]:
        answer = client.get("/api/v1/orders", params=params)
        assert answer.status_code == 200, answer.text
        return [o["customer_id"] for o in answer.json()["items"]]

    assert numbers(customer_id=ids["ann"]) == [ids["ann"]] * 3
    recent = (NOW - timedelta(days=50)).isoformat()
    assert numbers(since=recent) == [ids["ann"], ids["eve"], ids["eve"]]
    assert numbers(since=recent, until=(NOW - timedelta(days=8)).isoformat()) == [ids["ann"], ids["eve"]]
    assert numbers(status="refunded") == [ids["eve"]]
    assert numbers(status="cancelled") == [ids["eve"]]
    everything, pages = walk(client, "/api/v1/orders?limit=2")
    assert [o["id"] for o in everything] == sorted({o["id"] for o in everything})
    assert (len(everything), pages) == (6, 3)


def test_an_order_sent_twice_is_one_order_and_a_change_updates_it(app: App) -> None:
    client = ApiShop(app).client("ingest", "read")
    first = client.post("/api/v1/orders", json=order())
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["created"] is True
    stored = made["order"]
    assert (stored["number"], stored["currency"], stored["total"], stored["shipping"]) == (
        "A-100",
        "EUR",
        4250,
        450,
    )
    assert stored["placed_at"] == "2026-02-20T08:30:00Z"
    assert [(line["sku"], line["quantity"], line["unit_price"]) for line in stored["lines"]] == [
        ("MUG", 2, 1200), ("TEA", 1, 1400)
    ]  # fmt: skip
    again = client.post("/api/v1/orders", json=order())
    assert (again.status_code, again.json()["created"], again.json()["order"]["id"]) == (
        200,
        False,
        stored["id"],
    )
    refunded = client.post(
        "/api/v1/orders", json=order(refunded=1_200, financial_status="partially_refunded")
    )
    assert refunded.status_code == 200
    assert (refunded.json()["order"]["refunded"], refunded.json()["order"]["financial_status"]) == (
        1200, "partially_refunded"
    )  # fmt: skip
    assert count(app, orders) == 1
    with app.engine.connect() as connection:
        who = connection.execute(
            select(customers.c.email, customers.c.name, customers.c.marketing_consent)
        ).one()
    assert tuple(who) == ("dana@example.com", "Dana Day", True)
    assert client.get(f"/api/v1/orders/{stored['id']}").json()["lines"] == refunded.json()["order"]["lines"]


@pytest.mark.parametrize(
    ("changes", "code", "field", "problem"),
    [
        ({"refunded": 5_000}, "invalid_order", None, "refunded amount is larger than the order total"),
        ({"customer": {"email": "not-an-address"}}, "invalid_order", None, "invalid e-mail 'not-an-address'"),
        ({"currency": "XXX"}, "invalid_request", "currency", "unknown currency"),
        ({"customer": {"name": "Nobody"}}, "invalid_request", "customer", "name the customer"),
        ({"total": None, "lines": []}, "invalid_request", "body", "give the order's total"),
        ({"placed_at": "0001-01-01T00:00:00+05:00"}, "invalid_request", "placed_at", "out of range"),
        ({"number": "bad\u0000number"}, "invalid_request", "number", "NUL"),
        ({"surprise": 1}, "invalid_request", "surprise", "Extra inputs"),
    ],
)
def test_an_invalid_order_is_refused_with_the_reason_and_nothing_is_written(
    app: App, changes: dict[str, Any], code: str, field: str | None, problem: str
) -> None:
    client = ApiShop(app).client("ingest")
    error = assert_error(client.post("/api/v1/orders", json=order(**changes)), 422, code)
    assert problem in error["message"]
    if field is not None:
        assert error["details"][0]["loc"][-1] == field
    assert count(app, orders) == count(app, customers) == 0


def test_an_order_carrying_a_single_use_code_redeems_it(sqlite_app: App) -> None:
    client = ApiShop(sqlite_app).client("ingest", "marketing", "read")
    issued = client.post("/api/v1/codes", json={"kind": "fixed", "value": 500, "count": 1, "currency": "EUR"})
    code = issued.json()["codes"][0]
    before = client.post(
        "/api/v1/orders", json=order("A-99", placed_at="2026-03-01T10:00:00Z", discount_codes=[code])
    )
    assert before.status_code == 201  # placed before the code was issued: it does not count
    placed = client.post(
        "/api/v1/orders", json=order(placed_at="2026-03-02T13:00:00Z", discount_codes=[code.lower()])
    )
    redeemed = client.get("/api/v1/codes", params={"redeemed": True}).json()["items"]
    assert [(c["code"], c["order_id"]) for c in redeemed] == [(code, placed.json()["order"]["id"])]


def test_sending_orders_and_events_needs_the_ingest_scope(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ann = shop.customer("ann@example.com")
    client = shop.client("read", "marketing", "support")
    assert_error(client.post("/api/v1/orders", json=order()), 403, "forbidden")
    event = {"customer_id": ann, "event": "order_paid", "ref": "pay-1"}
    assert_error(client.post("/api/v1/events", json=event), 403, "forbidden")
    assert count(sqlite_app, orders) == 0


def test_an_event_happens_once_per_ref_and_is_listed_newest_first(app: App) -> None:
    shop = ApiShop(app)
    ann, bob = shop.customer("ann@example.com"), shop.customer("bob@example.com")
    client = shop.client("ingest", "read")
    sent = {
        "customer_id": ann,
        "event": "order_paid",
        "ref": "pay-1",
        "data": {"order": "A-1", "total": 12.5},
    }
    first = client.post("/api/v1/events", json=sent)
    assert first.status_code == 201, first.text
    assert first.json()["event"]["data"] == {"order": "A-1", "total": 12.5}
    assert first.json()["event"]["at"] == "2026-03-02T12:00:00Z"
    again = client.post("/api/v1/events", json=sent | {"data": {"changed": True}})
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert again.json()["event"]["data"] == {"order": "A-1", "total": 12.5}
    client.post("/api/v1/events", json={"customer_id": bob, "event": "refunded", "ref": "r-1",
                                        "at": "2026-03-01T10:00:00Z"})  # fmt: skip
    client.post("/api/v1/events", json={"customer_id": ann, "event": "refunded", "ref": "r-2"})
    listed = client.get("/api/v1/events", params={"customer_id": ann}).json()["items"]
    assert [(e["event"], e["ref"]) for e in listed] == [("refunded", "r-2"), ("order_paid", "pay-1")]
    refunds = client.get("/api/v1/events", params={"event": "refunded"}).json()["items"]
    assert [e["ref"] for e in refunds] == ["r-2", "r-1"]
    assert_error(client.post("/api/v1/events", json=sent | {"customer_id": 999_999}), 404, "unknown_customer")
    assert_error(client.post("/api/v1/events", json=sent | {"event": "made_up"}), 422, "invalid_request")
    assert_error(client.post("/api/v1/events", json=sent | {"ref": "x", "data": {"a": "\u0000"}}), 422,
                 "invalid_request")  # fmt: skip


def test_no_customer_details_reach_the_logs(sqlite_app: App, caplog: pytest.LogCaptureFixture) -> None:
    client = ApiShop(sqlite_app).client("ingest", "read")
    with caplog.at_level(logging.DEBUG):
        assert client.post("/api/v1/orders", json=order()).status_code == 201
        assert client.post("/api/v1/orders", json=order(currency="XXX")).status_code == 422
        assert client.get("/api/v1/customers", params={"q": "dana"}).status_code == 200
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name != "httpx2")
    for private in ("dana", "Dana", "Day", "cust-7"):
        assert private not in logged


def test_an_order_another_request_wrote_at_the_same_moment_is_written_again(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[int] = []

    def racing(parsed: Any, uow: Any, **options: Any) -> Any:
        attempts.append(1)
        if len(attempts) % 2:  # the first of each pair loses the race for the unique number
            raise IntegrityError("INSERT INTO orders", {}, Exception("duplicate key"))
        return import_orders(parsed, uow, **options)

    monkeypatch.setattr("retain.web.api.orders.import_orders", racing)
    client = ApiShop(sqlite_app).client("ingest")
    assert client.post("/api/v1/orders", json=order()).status_code == 201
    assert count(sqlite_app, orders) == 1

    def always(parsed: Any, uow: Any, **options: Any) -> Any:
        raise IntegrityError("INSERT INTO orders", {}, Exception("duplicate key"))

    monkeypatch.setattr("retain.web.api.orders.import_orders", always)
    assert_error(client.post("/api/v1/orders", json=order("A-101")), 409, "conflict")
