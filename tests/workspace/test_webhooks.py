"""The store's webhooks: Shopify's and the generic signed one. Signatures, deduplication,
orders through the import path, refunds, cancellations, customers, failures kept for a
retry, and deliveries that arrive together."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from retain import webhooks
from retain.bootstrap import App, utc_now
from retain.config import Settings
from retain.ingest.reader import read_orders as read_order_file
from retain.messaging.webhook import sign
from retain.service.imports import import_orders
from retain.store.tables import customer_events, customers, order_lines, orders, webhook_deliveries
from retain.web.app import create_app
from retain.web.intake import Intake

DATA = Path(__file__).parents[1] / "data"
SHOPIFY_SECRET = "shpss_test-shared-secret-0123456789"
ORDERS_SECRET = "retain-orders-secret-0123456789"
SETTINGS = Settings(shopify_webhook_secret=SHOPIFY_SECRET, orders_webhook_secret=ORDERS_SECRET)
ORDER_ID = "5200000101"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / "webhooks" / f"{name}.json").read_text())
    return loaded


def shopify(
    client: TestClient, topic: str, payload: dict[str, Any] | bytes, event: str, secret: str = SHOPIFY_SECRET
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature,
        "X-Shopify-Event-Id": event,
        "X-Shopify-Webhook-Id": f"webhook-{event}",
        "Content-Type": "application/json",
    }
    return client.post("/webhooks/shopify", content=body, headers=headers)


def generic(
    client: TestClient,
    path: str,
    payload: dict[str, Any],
    key: str,
    *,
    at: float | None = None,
    secret: str = ORDERS_SECRET,
) -> Any:
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time() if at is None else at))
    headers = {
        "X-Retain-Timestamp": timestamp,
        "X-Retain-Signature": sign(secret.encode(), timestamp, body),
        "Idempotency-Key": key,
        "Content-Type": "application/json",
    }
    return client.post(path, content=body, headers=headers)


def client_for(app: App, settings: Settings = SETTINGS) -> TestClient:
    return TestClient(create_app(app, settings))


def order(app: App, external_id: str = ORDER_ID) -> dict[str, Any] | None:
    with app.engine.connect() as connection:
        row = connection.execute(select(orders).where(orders.c.external_id == external_id)).first()
    return None if row is None else dict(row._mapping)


def must(app: App, external_id: str = ORDER_ID) -> dict[str, Any]:
    found = order(app, external_id)
    assert found is not None, f"no order {external_id}"
    return found


def count(app: App, table: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def deliveries(app: App) -> list[dict[str, Any]]:
    with app.engine.connect() as connection:
        rows = connection.execute(select(webhook_deliveries).order_by(webhook_deliveries.c.id))
        return [dict(r._mapping) for r in rows]


def refunded_order(refund: dict[str, Any]) -> dict[str, Any]:
    """The sample order as orders/updated sends it after ``refund``."""
    updated = sample("orders_create")
    updated["financial_status"] = "partially_refunded"
    updated["refunds"] = [refund]
    return updated


# -- Shopify: signatures ------------------------------------------------------------------


def test_a_signed_order_becomes_an_order_with_its_lines_and_customer(app: App) -> None:
    answer = shopify(client_for(app), "orders/create", sample("orders_create"), "event-1")
    assert answer.status_code == 200
    assert answer.json()["status"] == "processed"
    stored = must(app)
    assert (stored["total"], stored["subtotal"], stored["discounts"]) == (5156, 4320, 480)
    assert (stored["shipping"], stored["tax"], stored["refunded"]) == (490, 346, 0)
    assert (stored["currency"], stored["financial_status"], stored["discount_codes"]) == (
        "USD",
        "paid",
        "WELCOME10",
    )
    assert stored["item_count"] == 3
    with app.engine.connect() as connection:
        lines = connection.execute(
            select(order_lines.c.sku, order_lines.c.title, order_lines.c.quantity, order_lines.c.unit_price)
            .where(order_lines.c.order_id == stored["id"])
            .order_by(order_lines.c.position)
        ).all()
        person = connection.execute(select(customers).where(customers.c.id == stored["customer_id"])).one()
    assert [tuple(line) for line in lines] == [
        ("COF-ETH-250", "Ethiopia Yirgacheffe - 250g", 2, 1400),
        ("GEAR-DRIP", "Ceramic Pour-Over Dripper", 1, 2000),
    ]
    assert (person.external_id, person.email, person.name) == (
        "7300000001",
        "ana.lima@example.com",
        "Ana Lima",
    )
    assert person.marketing_consent is True
    assert [(d["topic"], d["delivery_id"], d["error"]) for d in deliveries(app)] == [
        ("orders/create", "event-1", None)
    ]
    assert deliveries(app)[0]["processed_at"] is not None


@pytest.mark.parametrize(
    "tamper",
    ["no signature", "another secret", "changed body"],
)
def test_a_bad_or_missing_signature_is_refused_and_nothing_is_kept(app: App, tamper: str) -> None:
    client = client_for(app)
    body = json.dumps(sample("orders_create")).encode()
    if tamper == "another secret":
        answer = shopify(client, "orders/create", body, "event-1", secret="not-the-shared-secret")
    elif tamper == "changed body":
        signature = base64.b64encode(
            hmac.new(SHOPIFY_SECRET.encode(), body, hashlib.sha256).digest()
        ).decode()
        answer = client.post(
            "/webhooks/shopify",
            content=body.replace(b'"51.56"', b'"0.01"'),
            headers={"X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": signature},
        )
    else:
        answer = client.post("/webhooks/shopify", content=body, headers={"X-Shopify-Topic": "orders/create"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_signature"
    assert count(app, webhook_deliveries) == 0
    assert count(app, orders) == 0


def test_without_a_secret_the_shopify_webhook_is_off(sqlite_app: App) -> None:
    answer = shopify(client_for(sqlite_app, Settings()), "orders/create", sample("orders_create"), "event-1")
    assert answer.status_code == 403
    assert count(sqlite_app, webhook_deliveries) == 0


def test_the_same_event_twice_is_applied_once(app: App) -> None:
    client = client_for(app)
    first = shopify(client, "orders/create", sample("orders_create"), "event-1")
    changed = sample("orders_create")
    changed["total_price"] = "1.00"
    again = shopify(client, "orders/create", changed, "event-1")
    assert first.json()["status"] == "processed"
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "delivery": first.json()["delivery"]}
    stored = must(app)
    assert stored["total"] == 5156
    assert count(app, webhook_deliveries) == 1


def test_an_unknown_topic_is_kept_and_ignored(app: App) -> None:
    answer = shopify(client_for(app), "products/update", {"id": 1, "title": "Mug"}, "event-9")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored"
    (kept,) = deliveries(app)
    assert (kept["topic"], kept["error"]) == ("products/update", None)
    assert kept["processed_at"] is not None


def test_an_oversized_body_is_refused_before_it_is_kept(sqlite_app: App) -> None:
    huge = sample("orders_create")
    huge["note"] = "x" * (4 << 20)
    answer = shopify(client_for(sqlite_app), "orders/create", huge, "event-1")
    assert answer.status_code == 413
    assert count(sqlite_app, webhook_deliveries) == 0


# -- Shopify: what the orders say ---------------------------------------------------------


def test_orders_updated_changes_the_status_and_the_refunded_amount(app: App) -> None:
    client = client_for(app)
    shopify(client, "orders/create", sample("orders_create"), "event-1")
    refund = sample("refunds_create")
    answer = shopify(client, "orders/updated", refunded_order(refund), "event-2")
    assert answer.json()["status"] == "processed"
    stored = must(app)
    assert (stored["financial_status"], stored["refunded"]) == ("partially_refunded", 1944)
    # The refund's own webhook, coming after, is known already: not counted twice.
    late = shopify(client, "refunds/create", refund, "event-3")
    assert late.json()["status"] == "duplicate"
    assert must(app)["refunded"] == 1944
    assert count(app, orders) == 1


def test_a_refund_webhook_adds_to_the_refunded_amount_once(app: App) -> None:
    client = client_for(app)
    shopify(client, "orders/create", sample("orders_create"), "event-1")
    refund = sample("refunds_create")
    answer = shopify(client, "refunds/create", refund, "event-2")
    assert answer.json()["status"] == "processed"
    stored = must(app)
    assert (stored["financial_status"], stored["refunded"]) == ("partially_refunded", 1944)
    # Sent again under another event id, or listed by the order's next update: still once.
    shopify(client, "refunds/create", refund, "event-3")
    shopify(client, "orders/updated", refunded_order(refund), "event-4")
    assert must(app)["refunded"] == 1944
    second = copy.deepcopy(refund)
    second["id"] = 9400000002
    second["transactions"][0]["amount"] = "40.00"
    shopify(client, "refunds/create", second, "event-5")
    refunded = must(app)
    assert (refunded["financial_status"], refunded["refunded"]) == ("refunded", 5156)  # at most the total


def test_a_refund_before_its_order_waits_for_it(app: App) -> None:
    client = client_for(app)
    early = shopify(client, "refunds/create", sample("refunds_create"), "event-1")
    assert early.status_code == 202
    assert early.json()["status"] == "queued"
    shopify(client, "orders/create", sample("orders_create"), "event-2")
    app.now = lambda: utc_now() + timedelta(minutes=5)
    report = webhooks.retry_deliveries(app)
    assert (report.tried, report.processed) == (1, 1)
    assert must(app)["refunded"] == 1944


def test_a_cancelled_order_is_marked_cancelled(app: App) -> None:
    client = client_for(app)
    shopify(client, "orders/create", sample("orders_create"), "event-1")
    cancelled = sample("orders_create")
    cancelled |= {
        "cancelled_at": "2026-03-03T09:00:00-05:00",
        "cancel_reason": "customer",
        "financial_status": "voided",
    }
    answer = shopify(client, "orders/cancelled", cancelled, "event-2")
    assert answer.json()["status"] == "processed"
    stored = must(app)
    assert stored["financial_status"] == "voided"
    assert stored["cancelled_at"].isoformat() == "2026-03-03T14:00:00+00:00"
    assert count(app, orders) == 1


def test_a_webhook_order_is_stored_as_the_same_order_imported_from_the_export(app: App) -> None:
    import_orders(read_order_file(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    imported = order(app, "5100000001")
    before = (count(app, orders), count(app, customers))
    answer = shopify(client_for(app), "orders/create", sample("order_1001_guest"), "event-1")
    assert answer.json()["status"] == "processed"
    assert order(app, "5100000001") == imported  # same cells, same content hash: unchanged
    assert (count(app, orders), count(app, customers)) == before


def test_an_order_the_import_would_reject_is_kept_rejected_and_not_retried(app: App) -> None:
    bad = sample("orders_create")
    bad["currency"] = "XYZ"
    answer = shopify(client_for(app), "orders/create", bad, "event-1")
    assert answer.status_code == 200  # Shopify would retry anything else, then drop the subscription
    assert answer.json()["status"] == "rejected"
    assert "unknown currency code 'XYZ'" in answer.json()["error"]["message"]
    assert order(app) is None
    app.now = lambda: utc_now() + timedelta(days=1)
    assert webhooks.retry_deliveries(app).tried == 0
    assert "XYZ" in (deliveries(app)[0]["error"] or "")


# -- Shopify: customers -------------------------------------------------------------------


def test_customers_create_and_update_keep_the_directory(app: App) -> None:
    client = client_for(app)
    created = shopify(client, "customers/create", sample("customers_create"), "event-1")
    assert created.json()["status"] == "processed"
    updated = sample("customers_create")
    updated["phone"] = "+44 7700 900999"
    updated["email_marketing_consent"] = {"state": "subscribed", "opt_in_level": "confirmed_opt_in"}
    shopify(client, "customers/update", updated, "event-2")
    with app.engine.connect() as connection:
        (person,) = connection.execute(select(customers)).all()
    assert (person.external_id, person.email, person.name) == (
        "7300000002",
        "bruno.costa@example.com",
        "Bruno Costa",
    )
    assert (person.phone, person.marketing_consent) == ("+44 7700 900999", True)
    attributes = person.attributes if isinstance(person.attributes, dict) else json.loads(person.attributes)
    assert attributes == {"Tags": "wholesale"}


# -- failures and retries -----------------------------------------------------------------


def test_a_failure_keeps_the_delivery_and_the_retry_applies_it(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = webhooks.read_orders
    calls: list[int] = []

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the disk hiccuped")
        return real(*args, **kwargs)

    monkeypatch.setattr(webhooks, "read_orders", failing_once)
    answer = shopify(client_for(app), "orders/create", sample("orders_create"), "event-1")
    assert answer.status_code == 202
    assert answer.json()["status"] == "queued"
    (kept,) = deliveries(app)
    assert kept["processed_at"] is None
    assert kept["attempts"] == 1
    assert "the disk hiccuped" in kept["error"]
    assert order(app) is None

    assert webhooks.retry_deliveries(app).tried == 0  # not due yet
    app.now = lambda: utc_now() + timedelta(minutes=2)
    report = webhooks.retry_deliveries(app)
    assert (report.tried, report.processed, report.pending) == (1, 1, 0)
    assert order(app) is not None
    (done,) = deliveries(app)
    assert (done["attempts"], done["error"]) == (2, None)
    assert done["processed_at"] is not None


def test_a_delivery_stops_being_retried_after_its_last_attempt(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("still broken")

    monkeypatch.setattr(webhooks, "read_orders", broken)
    shopify(client_for(sqlite_app), "orders/create", sample("orders_create"), "event-1")
    sqlite_app.now = lambda: utc_now() + timedelta(days=2)
    tries = [webhooks.retry_deliveries(sqlite_app).tried for _ in range(webhooks.MAX_ATTEMPTS + 1)]
    assert tries == [1] * (webhooks.MAX_ATTEMPTS - 1) + [0, 0]
    (kept,) = deliveries(sqlite_app)
    assert kept["attempts"] == webhooks.MAX_ATTEMPTS
    assert kept["processed_at"] is None


# -- deliveries that arrive together ------------------------------------------------------


def test_deliveries_arriving_together_are_applied_together(app: App) -> None:
    payloads = []
    for n in range(12):
        one = sample("orders_create")
        one["id"] = 6000 + n
        payloads.append(webhooks.Incoming("shopify", f"event-{n}", "orders/create", json.dumps(one).encode()))
    paid = sample("orders_create") | {"id": 6000, "financial_status": "partially_paid"}
    payloads.append(webhooks.Incoming("shopify", "event-paid", "orders/paid", json.dumps(paid).encode()))
    payloads.append(payloads[3])  # a resend in the same round

    async def deliver_all() -> list[webhooks.Outcome | None]:
        intake = Intake(app)
        return list(await asyncio.gather(*(intake.deliver(p) for p in payloads)))

    outcomes = asyncio.run(deliver_all())
    assert [o.status if o else None for o in outcomes].count("processed") == 13
    assert outcomes[-1] is not None
    assert outcomes[-1].status == "duplicate"
    assert count(app, orders) == 12
    assert must(app, "6000")["financial_status"] == "partially_paid"
    assert count(app, webhook_deliveries) == 13


def test_the_later_state_of_an_order_wins_unless_it_is_rejected(app: App) -> None:
    first = sample("orders_create")
    later = sample("orders_create") | {"financial_status": "refunded", "currency": "XYZ"}
    kept = webhooks.record(
        app,
        [
            webhooks.Incoming("shopify", "a", "orders/create", json.dumps(first).encode()),
            webhooks.Incoming("shopify", "b", "orders/updated", json.dumps(later).encode()),
        ],
    )
    outcomes = webhooks.process(app, [ident for ident, _ in kept if ident is not None])
    assert sorted(o.status for o in outcomes.values()) == ["processed", "rejected"]
    assert must(app)["financial_status"] == "paid"


def test_one_delivery_recorded_from_many_threads_is_kept_once(app: App) -> None:
    body = json.dumps(sample("orders_create")).encode()
    kept: list[int | None] = []
    start = threading.Barrier(6)

    def keep() -> None:
        start.wait()
        kept.extend(
            ident
            for ident, _ in webhooks.record(
                app, [webhooks.Incoming("shopify", "same", "orders/create", body)]
            )
        )

    threads = [threading.Thread(target=keep) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([k for k in kept if k is not None]) == 1
    assert count(app, webhook_deliveries) == 1


# -- the generic signed webhook -----------------------------------------------------------


def test_the_generic_webhook_takes_a_signed_order_once(app: App) -> None:
    client = client_for(app)
    answer = generic(client, "/webhooks/orders", sample("retain_order"), "wc-delivery-1")
    assert answer.status_code == 200
    assert answer.json()["status"] == "processed"
    stored = must(app, "wc-20417")
    assert (stored["total"], stored["shipping"], stored["currency"], stored["source"]) == (
        5220,
        550,
        "EUR",
        "woocommerce",
    )
    again = generic(client, "/webhooks/orders", sample("retain_order"), "wc-delivery-1")
    assert again.json()["status"] == "duplicate"
    assert count(app, webhook_deliveries) == 1


@pytest.mark.parametrize("forgery", ["replayed", "wrong secret", "no signature"])
def test_the_generic_webhook_refuses_replays_and_forgeries(app: App, forgery: str) -> None:
    client = client_for(app)
    if forgery == "replayed":  # signed properly, ten minutes ago
        answer = generic(client, "/webhooks/orders", sample("retain_order"), "k", at=time.time() - 600)
    elif forgery == "wrong secret":
        answer = generic(client, "/webhooks/orders", sample("retain_order"), "k", secret="guessed-secret")
    else:
        answer = client.post("/webhooks/orders", json=sample("retain_order"))
    assert answer.status_code == 401
    assert count(app, webhook_deliveries) == 0
    assert count(app, orders) == 0


def test_the_generic_webhook_says_why_an_order_is_rejected(sqlite_app: App) -> None:
    bad = sample("retain_order") | {"total": "52.20"}
    answer = generic(client_for(sqlite_app), "/webhooks/orders", bad, "k1")
    assert answer.status_code == 422
    assert "minor units" in answer.json()["error"]["message"]
    negative = sample("retain_order") | {"shipping": -5}
    answer = generic(client_for(sqlite_app), "/webhooks/orders", negative, "k2")
    assert answer.status_code == 422
    assert "negative amount in shipping" in answer.json()["error"]["message"]
    assert order(sqlite_app, "wc-20417") is None


def test_the_generic_webhook_takes_customer_profiles(app: App) -> None:
    answer = generic(client_for(app), "/webhooks/customers", sample("retain_customer"), "c1")
    assert answer.json()["status"] == "processed"
    with app.engine.connect() as connection:
        (person,) = connection.execute(select(customers)).all()
    assert (person.external_id, person.timezone, person.marketing_consent) == (
        "wc-customer-88",
        "Europe/Paris",
        True,
    )
    assert person.birthday.isoformat() == "1991-07-14"


def test_a_webhook_order_becomes_the_flows_order_placed_event_on_their_next_tick(app: App) -> None:
    shopify(client_for(app), "orders/create", sample("orders_create"), "event-1")
    placed = must(app)["placed_at"]
    with app.unit_of_work() as uow:  # what the flow engine's plan does with orders it has not seen
        assert uow.triggers.record_orders(placed - timedelta(days=7), utc_now()) == 1
        (event,) = uow.triggers.events_after(0)
        uow.commit()
    assert (event.event, event.customer_id, event.data["first_order"]) == (
        "order_placed",
        must(app)["customer_id"],
        True,
    )


def events_of(app: App, event: str) -> list[str]:
    with app.engine.connect() as connection:
        query = select(customer_events.c.ref).where(customer_events.c.event == event)
        return sorted(connection.scalars(query))


def test_paid_and_refunded_orders_become_flow_events_once(app: App) -> None:
    client = client_for(app)
    shopify(client, "orders/create", sample("orders_create"), "event-1")
    assert events_of(app, "order_paid") == []
    shopify(client, "orders/paid", sample("orders_create"), "event-2")
    shopify(client, "orders/paid", sample("orders_create"), "event-3")  # Shopify resends
    stored = must(app)
    assert events_of(app, "order_paid") == [str(stored["id"])]
    refund = sample("refunds_create")
    shopify(client, "refunds/create", refund, "event-4")
    shopify(client, "orders/updated", refunded_order(refund), "event-5")  # lists the same refund
    assert events_of(app, "refunded") == [f"{stored['id']}:{refund['id']}"]
