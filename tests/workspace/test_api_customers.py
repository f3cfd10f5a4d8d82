"""Customers through the API: the search, its pages and filters, and the 360 view."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from retain.bootstrap import App
from retain.store.tables import customer_scores, segment_members
from tests.workspace.api_shop import NOW, ApiShop, assert_error


def walk(client: TestClient, address: str) -> tuple[list[dict[str, Any]], int]:
    """Every item of a list, following ``next``; and how many pages it took."""
    items: list[dict[str, Any]] = []
    pages = 0
    next_page: str | None = address
    while next_page is not None:
        answer = client.get(next_page)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["items"]
        pages += 1
        next_page = body["next"]
        assert (body["next_cursor"] is None) == (next_page is None)
    return items, pages


def test_pages_walk_every_customer_once_while_others_arrive(app: App) -> None:
    shop = ApiShop(app)
    made = [shop.customer(f"c{n}@example.com") for n in range(23)]
    client = shop.client("read")
    first = client.get("/api/v1/customers?limit=5").json()
    assert [c["id"] for c in first["items"]] == made[:5]
    late = shop.customer("late@example.com")  # arrives while the client walks
    rest, pages = walk(client, first["next"])
    seen = [c["id"] for c in first["items"] + rest]
    assert seen == [*made, late]
    assert pages == 4  # 24 after the first 5, five a page (the last holds 4)
    assert "limit=5" in first["next"]


def test_the_search_finds_part_of_an_email_or_a_name_in_any_case(app: App) -> None:
    shop = ApiShop(app)
    ann = shop.customer("ann@example.com", "Ann Archer")
    bob = shop.customer("bob@shop.example", "Bob Baker")
    odd = shop.customer("odd@example.com", "100% real_name")
    client = shop.client("read")

    def found(query: str) -> list[int]:
        answer = client.get("/api/v1/customers", params={"q": query})
        assert answer.status_code == 200, answer.text
        return [c["id"] for c in answer.json()["items"]]

    assert found("ARCH") == [ann]
    assert found("@shop.") == [bob]
    assert found("example") == [ann, bob, odd]
    assert found("%") == [odd]  # a literal percent sign, not a wildcard
    assert found("rea_") == []  # nor is the underscore: "real" does not match
    assert found("nobody") == []


def test_customers_are_filtered_by_segment_and_by_orders(app: App) -> None:
    shop = ApiShop(app)
    ids = shop.seed()
    with app.engine.begin() as connection:
        connection.execute(insert(segment_members), {"segment": "rfm:Champions", "customer_id": ids["ann"],
                                                     "entered_at": NOW})  # fmt: skip
    client = shop.client("read")
    champions = client.get("/api/v1/customers", params={"segment": "rfm:Champions"}).json()["items"]
    assert [c["id"] for c in champions] == [ids["ann"]]
    regulars = client.get("/api/v1/customers", params={"min_orders": 1}).json()["items"]
    assert [(c["id"], c["orders"]) for c in regulars] == [(ids["ann"], 3), (ids["bob"], 1), (ids["eve"], 1)]
    repeat = client.get("/api/v1/customers", params={"min_orders": 2}).json()["items"]
    assert [c["id"] for c in repeat] == [ids["ann"]]  # Eve's second order was cancelled


def test_the_360_view_holds_the_customers_whole_story(app: App) -> None:
    shop = ApiShop(app)
    ids = shop.seed()
    client = shop.client("read")
    ann = client.get(f"/api/v1/customers/{ids['ann']}").json()
    assert ann["profile"]["email"] == "ann@example.com"
    assert ann["profile"]["marketing_consent"] is True
    placed = [order["placed_at"] for order in ann["orders"]]
    assert len(placed) == 3
    assert placed == sorted(placed, reverse=True)
    assert [m["template"] for m in ann["messages"]] == ["winback"]
    assert [(f["survey"], f["score"]) for f in ann["feedback"]] == [("nps", 10)]
    assert (ann["tickets"], ann["loyalty"], ann["prediction"]) == ([], None, None)
    bob = client.get(f"/api/v1/customers/{ids['bob']}").json()
    assert [t["subject"] for t in bob["tickets"]] == ["My parcel never came"]
    assert bob["profile"]["marketing_consent"] is False
    assert_error(client.get("/api/v1/customers/999999"), 404, "not_found")


def test_a_customer_named_like_a_script_comes_back_as_plain_json_text(app: App) -> None:
    shop = ApiShop(app)
    eve = shop.customer("eve@example.com", "<script>alert(1)</script>")
    client = shop.client("read")
    answer = client.get(f"/api/v1/customers/{eve}")
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.json()["profile"]["name"] == "<script>alert(1)</script>"
    listed = client.get("/api/v1/customers", params={"q": "<script>"}).json()["items"]
    assert [c["name"] for c in listed] == ["<script>alert(1)</script>"]


def test_a_customers_prediction_is_the_latest_scoring(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ids = shop.seed()
    client = shop.client("read")
    missing = assert_error(client.get(f"/api/v1/customers/{ids['ann']}/prediction"), 404, "not_found")
    assert "retain predict" in str(missing["message"])
    with sqlite_app.engine.begin() as connection:
        connection.execute(insert(customer_scores), {
            "customer_id": ids["ann"], "model": "bgnbd", "model_version": 1, "as_of": date(2026, 3, 1),
            "horizon_days": 365, "p_alive": 0.8, "churn_probability": 0.25, "predicted_orders": 1.5,
            "expected_next_order": date(2026, 3, 1) + timedelta(days=40), "average_order_value": 5000,
            "average_days_between_orders": 90.0, "historic_clv": 15000, "predicted_clv": 7000,
            "total_clv": 22000, "currency": "USD",
        })  # fmt: skip
    found = client.get(f"/api/v1/customers/{ids['ann']}/prediction").json()
    assert (found["p_alive"], found["predicted_clv"], found["expected_next_order"]) == (
        0.8,
        7000,
        "2026-04-10",
    )
    assert client.get(f"/api/v1/customers/{ids['ann']}").json()["prediction"]["churn_probability"] == 0.25
    assert_error(client.get("/api/v1/customers/999999/prediction"), 404, "not_found")
