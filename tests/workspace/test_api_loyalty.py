"""A customer's points through the staff API: balance, history, rewards, spending and
correcting them."""

from __future__ import annotations

from retain.bootstrap import App
from tests.workspace.api_shop import ApiShop, assert_error
from tests.workspace.test_api_customers import walk


def test_points_given_by_hand_make_a_member_and_show_in_the_history(app: App) -> None:
    shop = ApiShop(app)
    ids = shop.seed()
    ann = ids["ann"]
    client = shop.client("read", "marketing")
    assert_error(client.get(f"/api/v1/customers/{ann}/loyalty"), 404, "not_a_member")
    given = client.post(
        f"/api/v1/customers/{ann}/loyalty/adjust", json={"points": 1_500, "reason": "welcome gift"}
    )
    assert given.status_code == 200, given.text
    assert given.json() == {"points": 1_500, "balance": 1_500, "reason": "welcome gift (key:integration)"}
    client.post(f"/api/v1/customers/{ann}/loyalty/adjust", json={"points": -200, "reason": "typo"})
    too_much = client.post(
        f"/api/v1/customers/{ann}/loyalty/adjust", json={"points": -5_000, "reason": "oops"}
    )
    assert_error(too_much, 409, "insufficient_points")
    balance = client.get(f"/api/v1/customers/{ann}/loyalty").json()
    assert (balance["balance"], balance["pending"], balance["currency"]) == (1_300, 0, "USD")
    assert balance["worth"] == 1_300  # a point is worth a cent in the default program
    assert len(balance["referral_code"].replace("-", "")) >= 8
    entries, pages = walk(client, f"/api/v1/customers/{ann}/loyalty/history?limit=1")
    assert [(e["kind"], e["points"], e["balance_after"]) for e in entries] == [
        ("adjust", -200, 1_300),
        ("adjust", 1_500, 1_500),
    ]
    assert pages == 2
    assert client.get(f"/api/v1/customers/{ids['bob']}/loyalty/history").status_code == 404


def test_points_are_spent_on_a_reward_once_per_request(app: App) -> None:
    shop = ApiShop(app)
    ann = shop.customer("ann@example.com")
    client = shop.client("read", "marketing")
    client.post(f"/api/v1/customers/{ann}/loyalty/adjust", json={"points": 1_000, "reason": "gift"})
    rewards = {
        r["key"]: r["affordable"] for r in client.get(f"/api/v1/customers/{ann}/loyalty/rewards").json()
    }
    assert (rewards["five-off"], rewards["fifteen-off"]) == (True, False)
    spend = {"reward": "five-off", "request_id": "checkout-1"}
    done = client.post(f"/api/v1/customers/{ann}/loyalty/redeem", json=spend)
    assert done.status_code == 200, done.text
    assert (done.json()["points"], done.json()["balance"]) == (500, 500)
    again = client.post(f"/api/v1/customers/{ann}/loyalty/redeem", json=spend)
    assert again.json() == done.json()  # a retry returns the same code, spends nothing more
    codes = client.get("/api/v1/codes", params={"customer_id": ann}).json()["items"]
    assert [c["code"] for c in codes] == [done.json()["code"]]
    assert_error(client.post(f"/api/v1/customers/{ann}/loyalty/redeem", json={"reward": "fifteen-off"}),
                 409, "insufficient_points")  # fmt: skip
    assert_error(
        client.post(f"/api/v1/customers/{ann}/loyalty/redeem", json={"reward": "a-pony"}),
        422,
        "unknown_reward",
    )
    assert client.get(f"/api/v1/customers/{ann}/loyalty").json()["balance"] == 500


def test_changing_points_needs_marketing_and_a_real_customer(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ann = shop.customer("ann@example.com")
    reader = shop.client("read")
    assert_error(reader.post(f"/api/v1/customers/{ann}/loyalty/adjust", json={"points": 5, "reason": "x"}),
                 403, "forbidden")  # fmt: skip
    assert_error(
        reader.post(f"/api/v1/customers/{ann}/loyalty/redeem", json={"reward": "five-off"}), 403, "forbidden"
    )
    marketer = shop.client("marketing", "read")
    assert_error(marketer.post("/api/v1/customers/999999/loyalty/adjust", json={"points": 5, "reason": "x"}),
                 404, "not_found")  # fmt: skip
    assert_error(marketer.post(f"/api/v1/customers/{ann}/loyalty/redeem", json={"reward": "five-off"}),
                 404, "not_a_member")  # fmt: skip
    assert_error(marketer.get("/api/v1/customers/999999/loyalty"), 404, "not_found")
    assert_error(marketer.post(f"/api/v1/customers/{ann}/loyalty/adjust", json={"points": 0, "reason": "x"}),
                 422, "refused")  # fmt: skip
