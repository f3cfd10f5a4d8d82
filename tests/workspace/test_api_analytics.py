"""Segments, metrics, cohorts and predictions through the API."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert

from retain.bootstrap import App
from retain.store.tables import customer_scores
from tests.workspace.api_shop import ApiShop, assert_error
from tests.workspace.test_api_customers import walk


def test_segments_list_every_kind_with_its_size_and_revenue(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    shop.seed()
    found = shop.client("read").get("/api/v1/segments").json()
    groups = {s["name"]: s for s in found if s["kind"] == "group"}
    assert sum(s["customers"] for s in groups.values()) == 3
    assert sum(s["revenue"] for s in groups.values()) == 30_000  # Eve's cancelled order is not revenue
    assert sum(s["revenue_share"] for s in found if s["kind"] == "rfm") == pytest.approx(1)
    assert {s["kind"] for s in found} == {"rfm", "group"}


def test_a_rule_segment_is_defined_listed_and_walked(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ids = shop.seed()
    client = shop.client("read", "marketing")
    rule = {"rule": {"field": "orders", "op": ">=", "value": 1}}
    assert client.put("/api/v1/segments/buyers", json=rule).status_code == 201
    replaced = client.put("/api/v1/segments/buyers", json=rule)
    assert (replaced.status_code, replaced.json()) == (200, {"name": "buyers", "created": False})
    listed = {s["name"]: s for s in client.get("/api/v1/segments").json()}
    assert (listed["buyers"]["kind"], listed["buyers"]["customers"]) == ("rule", 3)
    members, pages = walk(client, "/api/v1/segments/buyers/members?limit=1")
    assert [m["customer_id"] for m in members] == sorted(ids.values())
    assert pages == 3
    assert {m["group"] for m in members} <= {"loyal", "underperforming", "non-active"}


def test_a_bad_rule_or_segment_name_is_refused(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    shop.seed()
    client = shop.client("read", "marketing")
    odd = {"rule": {"field": "shoe_size", "op": "=", "value": 1}}
    bad = assert_error(client.put("/api/v1/segments/odd", json=odd), 422, "invalid_rule")
    assert "shoe_size" in bad["message"]
    fine = {"rule": {"field": "orders", "op": ">", "value": 0}}
    assert_error(client.put("/api/v1/segments/Champions", json=fine), 422, "invalid_rule")
    assert_error(client.get("/api/v1/segments/nothing/members"), 404, "not_found")
    assert_error(shop.client("read").put("/api/v1/segments/odd", json={"rule": {}}), 403, "forbidden")


def test_metrics_of_a_period(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    shop.seed()
    client = shop.client("read")
    found = client.get("/api/v1/metrics", params={"start": "2025-03-02", "end": "2026-03-01"}).json()
    assert (found["orders"], found["revenue"], found["currency"]) == (5, 30_000, "USD")
    assert found["average_order_value"] == 6_000
    assert found["new_customers"] == 3
    assert found["repeat_purchase_rate"] == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2026-01-01", "2026-03-03", "in the future"),
        ("2026-02-01", "2026-01-01", "before the start"),
        ("1969-12-31", "2026-01-01", "before 1970-01-01"),
    ],
)
def test_a_period_that_cannot_be_measured_is_refused(
    sqlite_app: App, start: str, end: str, problem: str
) -> None:
    shop = ApiShop(sqlite_app)
    shop.seed()
    error = assert_error(shop.client("read").get("/api/v1/metrics", params={"start": start, "end": end}),
                         422, "invalid_period")  # fmt: skip
    assert problem in error["message"]


def test_a_store_without_orders_has_no_analytics_yet(sqlite_app: App) -> None:
    client = ApiShop(sqlite_app).client("read")
    for address in ("/api/v1/segments", "/api/v1/cohorts", "/api/v1/metrics?start=2026-01-01&end=2026-02-01"):
        error = assert_error(client.get(address), 409, "no_data")
        assert "no orders yet" in error["message"]


def test_cohorts_by_month_and_by_quarter(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    shop.seed()
    client = shop.client("read")
    months = client.get("/api/v1/cohorts").json()
    assert [(c["cohort"], c["size"]) for c in months["cohorts"]] == [
        ("2025-05", 1),
        ("2025-11", 1),
        ("2026-02", 1),
    ]
    first = months["cohorts"][0]
    assert first["customers"][:4] == [1, 0, 0, 1]
    assert (first["retention"][0], first["revenue"][0]) == (1.0, 5_000)
    quarters = client.get("/api/v1/cohorts", params={"by": "quarter"}).json()
    assert [c["cohort"] for c in quarters["cohorts"]] == ["2025-Q2", "2025-Q4", "2026-Q1"]
    assert_error(client.get("/api/v1/cohorts", params={"by": "week"}), 422, "invalid_request")


def test_predictions_are_listed_and_filtered_by_churn(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ids = shop.seed()
    with sqlite_app.engine.begin() as connection:
        for name, churn in (("ann", 0.1), ("bob", 0.9)):
            connection.execute(insert(customer_scores), {
                "customer_id": ids[name], "model": "bgnbd", "model_version": 1, "as_of": date(2026, 3, 1),
                "horizon_days": 365, "p_alive": 1 - churn, "churn_probability": churn,
                "predicted_orders": 1.0, "expected_next_order": None, "average_order_value": 5000,
                "average_days_between_orders": None, "historic_clv": 1, "predicted_clv": 2, "total_clv": 3,
                "currency": "USD",
            })  # fmt: skip
    client = shop.client("read")
    every = client.get("/api/v1/predictions").json()["items"]
    assert [p["customer_id"] for p in every] == [ids["ann"], ids["bob"]]
    likely = client.get("/api/v1/predictions", params={"min_churn_probability": 0.5}).json()["items"]
    assert [p["customer_id"] for p in likely] == [ids["bob"]]
