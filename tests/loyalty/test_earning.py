"""Earning, approval, reversal and expiry on a real store, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy import func, select

from retain.ingest.reader import read_orders
from retain.service import loyalty
from retain.service.imports import import_orders
from retain.store.tables import customer_events, loyalty_ledger
from tests.conftest import DATA
from tests.loyalty.conftest import NOW, Shop

DAY = timedelta(days=1)


def kinds(shop: Shop, customer_id: int) -> list[tuple[str, int, int]]:
    return [(e["kind"], e["points"], e["pending"]) for e in shop.history(customer_id)]


def test_an_order_earns_on_goods_paid_and_waits_out_the_return_window(shop: Shop) -> None:
    ana = shop.customer("ana@example.com")
    # $120.00 of goods, $20.50 off, $5 shipping and $8 tax: points on $99.50 only.
    shop.order(ana, NOW - 10 * DAY, goods=12_000, discounts=2_050)
    shop.sync()
    assert shop.balances(ana) == (0, 99)
    assert kinds(shop, ana) == [("earn", 0, 99)]

    shop.sync(NOW + 19 * DAY)  # 29 days after the order: still returnable
    assert shop.balances(ana) == (0, 99)
    shop.sync(NOW + 20 * DAY)
    assert shop.balances(ana) == (99, 0)
    assert kinds(shop, ana) == [("earn", 0, 99), ("approve", 99, -99)]


def test_unpaid_cancelled_and_foreign_currency_orders_earn_nothing(shop: Shop) -> None:
    ben = shop.customer("ben@example.com")
    shop.order(ben, NOW - 5 * DAY, status="pending")
    shop.order(ben, NOW - 4 * DAY, cancelled_at=NOW - 3 * DAY)
    report = shop.sync()
    assert report.orders == 0
    with shop.app.unit_of_work() as uow:
        assert uow.loyalty.account(ben) is None  # nothing earned, nobody enrolled


def test_the_same_order_earns_once_however_often_it_is_imported_or_synced(shop: Shop) -> None:
    source = DATA / "shopify" / "orders_export.csv"
    import_orders(read_orders(source), shop.app.unit_of_work())
    first = shop.sync()
    import_orders(read_orders(source), shop.app.unit_of_work())
    second = shop.sync()
    assert first.entries > 0
    assert first.earned > 0
    assert second.entries == 0
    with shop.app.engine.connect() as connection:
        keys = connection.execute(select(loyalty_ledger.c.key)).scalars().all()
    assert len(keys) == len(set(keys)) == first.entries


def test_a_partial_refund_takes_back_its_share_of_pending_points(shop: Shop) -> None:
    cy = shop.customer("cy@example.com")
    order = shop.order(cy, NOW - 5 * DAY, goods=20_000, shipping=0, tax=0)  # 200 points
    shop.sync()
    shop.refund(order, 5_000)  # a quarter of the money back
    shop.sync()
    assert shop.balances(cy) == (0, 150)
    shop.sync()  # the same refund seen again takes nothing more
    assert shop.balances(cy) == (0, 150)
    shop.sync(NOW + 30 * DAY)
    assert shop.balances(cy) == (150, 0)


def test_a_refund_after_approval_takes_points_back_down_to_zero_and_records_the_shortfall(shop: Shop) -> None:
    dee = shop.customer("dee@example.com")
    order = shop.order(dee, NOW - 60 * DAY, goods=50_000, shipping=0, tax=0)  # 500 points
    shop.sync()
    assert shop.balances(dee) == (700, 0)  # with Silver's entry reward of 200
    loyalty.redeem(shop.program, shop.app.unit_of_work, dee, "five-off", NOW)  # spends 500 of them
    shop.refund(order, 50_000)
    shop.sync()
    assert shop.balances(dee) == (0, 0)
    reversal = shop.history(dee)[-1]
    assert (reversal["kind"], reversal["points"], reversal["shortfall"]) == ("reverse", -200, 300)


def test_cancelling_an_approved_order_reverses_all_it_earned(shop: Shop) -> None:
    eve = shop.customer("eve@example.com")
    shop.order(eve, NOW - 90 * DAY, goods=30_000, shipping=0, tax=0)
    second = shop.order(eve, NOW - 80 * DAY, goods=10_000, shipping=0, tax=0)
    shop.sync()
    before, _ = shop.balances(eve)
    shop.cancel(second, NOW - DAY)
    shop.sync()
    after, _ = shop.balances(eve)
    assert before - after == 100
    last = shop.history(eve)[-1]
    assert (last["kind"], last["order_id"], last["points"], last["reason"]) == (
        "reverse", second, -100, "order cancelled",
    )  # fmt: skip


def test_excluded_categories_and_skus_earn_nothing(shop: Shop) -> None:
    shop.program = replace(shop.program, excluded_skus=frozenset({"SAMPLE"}))
    fay = shop.customer("fay@example.com")
    shop.order(
        fay, NOW - 3 * DAY, goods=9_000, shipping=0, tax=0,
        lines=[("COF-1", "Coffee", 4_000), ("GFT-25", "Gift Cards", 2_500), ("SAMPLE", "Coffee", 2_500)],
    )  # fmt: skip
    shop.sync()
    assert shop.balances(fay) == (0, 40)


def test_points_expire_after_the_months_without_a_purchase_with_a_reminder_first(shop: Shop) -> None:
    gus = shop.customer("gus@example.com")
    shop.order(gus, NOW - 350 * DAY, goods=40_000, shipping=0, tax=0)
    shop.sync()
    assert shop.balances(gus)[0] > 0
    with shop.app.engine.connect() as connection:
        reminders = connection.execute(
            select(customer_events.c.data).where(
                customer_events.c.event == "points_expiring", customer_events.c.customer_id == gus
            )
        ).scalars().all()  # fmt: skip
    assert len(reminders) == 1
    assert reminders[0]["points"] == shop.balances(gus)[0]

    shop.sync(NOW + 20 * DAY)  # 370 days on: expired
    assert shop.balances(gus) == (0, 0)
    assert shop.history(gus)[-1]["kind"] == "expire"
    shop.sync(NOW + 21 * DAY)
    assert [e["kind"] for e in shop.history(gus)].count("expire") == 1


def test_a_recent_purchase_keeps_points_from_expiring(shop: Shop) -> None:
    hal = shop.customer("hal@example.com")
    shop.order(hal, NOW - 400 * DAY, goods=40_000, shipping=0, tax=0)
    shop.order(hal, NOW - 100 * DAY, goods=10_000, shipping=0, tax=0)
    shop.sync()
    assert "expire" not in [e["kind"] for e in shop.history(hal)]


def test_approvals_worth_telling_become_points_changed_events(shop: Shop) -> None:
    ivy, jo = shop.customer("ivy@example.com"), shop.customer("jo@example.com")
    shop.order(ivy, NOW - 60 * DAY, goods=25_000, shipping=0, tax=0)  # 250 points approved
    shop.order(jo, NOW - 60 * DAY, goods=5_000, shipping=0, tax=0)  # 50: below notify_min_points
    shop.sync()
    with shop.app.engine.connect() as connection:
        told = connection.execute(
            select(customer_events.c.customer_id, func.count())
            .where(customer_events.c.event == "points_changed")
            .group_by(customer_events.c.customer_id)
        ).all()
    assert dict(told).get(ivy) == 1
    assert jo not in dict(told)


def test_a_sync_as_of_a_past_day_leaves_later_orders_for_later(shop: Shop) -> None:
    kay = shop.customer("kay@example.com")
    shop.order(kay, NOW - 10 * DAY, goods=10_000, shipping=0, tax=0)
    shop.order(kay, NOW + 5 * DAY, goods=20_000, shipping=0, tax=0)  # known, but not placed yet
    shop.sync()
    assert shop.balances(kay) == (0, 100)
    shop.sync(NOW + 6 * DAY)
    assert shop.balances(kay) == (200, 300)  # and Silver's entry reward, now spend is $300
