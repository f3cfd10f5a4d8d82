"""Lifecycle flows through the API: the list, switching one on and off, its report."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert

from retain.bootstrap import App
from retain.store.tables import flow_entries
from tests.workspace.api_shop import NOW, ApiShop, assert_error


def test_the_library_is_listed_and_a_flow_switched_on_and_off(app: App) -> None:
    client = ApiShop(app).client("read", "marketing")
    flows = {f["name"]: f for f in client.get("/api/v1/flows").json()}
    assert flows["win-back"]["enabled"] is False
    assert flows["feedback-acknowledgement"]["enabled"] is True  # service flows start on
    on = client.post("/api/v1/flows/win-back/enable")
    assert (on.status_code, on.json()["enabled"]) == (200, True)
    assert on.json()["definition"]["name"] == "win-back"
    assert client.get("/api/v1/flows/win-back").json()["enabled"] is True
    assert client.post("/api/v1/flows/win-back/disable").json()["enabled"] is False
    assert {f["name"]: f["enabled"] for f in client.get("/api/v1/flows").json()}["win-back"] is False
    assert_error(client.post("/api/v1/flows/no-such-flow/enable"), 404, "not_found")
    assert_error(client.get("/api/v1/flows/no-such-flow"), 404, "not_found")


def test_a_flows_report_compares_the_treated_with_the_holdout(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    treated = [shop.customer(f"t{n}@example.com") for n in range(4)]
    held = [shop.customer(f"h{n}@example.com") for n in range(2)]
    entered = NOW - timedelta(days=20)
    with sqlite_app.engine.begin() as connection:
        for customer in treated + held:
            connection.execute(insert(flow_entries), {
                "flow": "win-back", "customer_id": customer, "entry_no": 1, "entered_at": entered,
                "holdout": customer in held, "state": "holdout" if customer in held else "completed",
                "step": 0, "context": {},
            })  # fmt: skip
    shop.order(treated[0], entered + timedelta(days=3), 8_000)
    client = shop.client("read")
    report = client.get("/api/v1/flows/win-back/report", params={"window_days": 30}).json()
    assert report["runs"] == {"completed": 4, "holdout": 2}
    assert (report["treated"]["customers"], report["treated"]["conversion"]) == (4, 0.25)
    assert report["treated"]["revenue_per_customer"] == 2_000
    assert report["holdout"]["customers"] == 2
    assert report["conversion"]["value"] == 0.25
    assert report["conversion"]["low"] < 0.25 < report["conversion"]["high"]
    assert_error(
        client.get("/api/v1/flows/win-back/report", params={"window_days": 0}), 422, "invalid_request"
    )
