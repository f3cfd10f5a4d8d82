"""What planning reads and writes in bulk, on SQLite and PostgreSQL, against the plain
queries it replaced: first-order anniversaries, the facts entry rules test, each flow's
history, exits on events, and the runs written for a day's entrants."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, extract, func, insert, select

from retain.bootstrap import App, bootstrap
from retain.domain.flow_runs import Entrants, History
from retain.domain.money import to_decimal
from retain.store.flow_triggers import SqlTriggers
from retain.store.flows import SqlFlows
from retain.store.sets import CHUNK
from retain.store.tables import customer_scores, customers, flow_entries, orders

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
# Around the chunk boundaries: SQLite reads ids in runs of CHUNK.
# Text that CSV and JSON both have to escape.
ODD = 'a, "b"\n\tc\\d é,'
IDS = [*range(1, 40), *range(CHUNK - 20, CHUNK + 20), *range(2 * CHUNK - 5, 2 * CHUNK + 30)]


@pytest.fixture
def connection(app: App) -> Iterator[Connection]:
    with app.engine.begin() as connection:
        yield connection


def _store(connection: Connection, seed: int = 3) -> None:
    """Customers at ``IDS`` with orders over five years, some cancelled, refunded, in the
    future, at the edges of days, on 29 February; scores for most."""
    rng = random.Random(seed)
    people, placed, scores = [], [], []
    edges = [
        datetime(2023, 6, 1, 0, 0, tzinfo=UTC),
        datetime(2024, 5, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 6, 1, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2024, 6, 2, 0, 0, tzinfo=UTC),
        datetime(2024, 2, 29, 10, tzinfo=UTC),
        datetime(2025, 3, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 6, 1, 8, tzinfo=UTC),  # this year: no anniversary yet
    ]
    for customer in IDS:
        people.append({"id": customer, "external_id": f"C{customer}", "email": f"c{customer}@example.com",
                       "attributes": {}})  # fmt: skip
        currency = "JPY" if customer % 11 == 0 else "USD"
        for n in range(rng.randrange(0, 5)):
            at = rng.choice(edges) if rng.random() < 0.3 else NOW - timedelta(days=rng.uniform(-5, 5 * 365))
            total = rng.randrange(100, 30_000)
            placed.append(
                {"id": len(placed) + 1, "external_id": f"#{customer}-{n}", "customer_id": customer,
                 "placed_at": at, "currency": currency, "subtotal": total, "discounts": 0, "shipping": 0,
                 "tax": 0, "total": total, "refunded": rng.choice([0, 0, total // 2]),
                 "financial_status": "paid", "item_count": 1, "content_hash": f"{customer}-{n}",
                 "cancelled_at": at if rng.random() < 0.15 else None}
            )  # fmt: skip
        if customer % 7:
            scores.append(
                {"customer_id": customer, "model": "bgnbd", "model_version": 1, "as_of": NOW.date(),
                 "horizon_days": 365, "p_alive": rng.random(), "churn_probability": rng.random(),
                 "predicted_orders": rng.uniform(0, 4), "average_order_value": 5000,
                 "historic_clv": 100, "predicted_clv": rng.randrange(0, 90_000), "total_clv": 100,
                 "currency": "USD"}
            )  # fmt: skip
    for table, rows in ((customers, people), (orders, placed), (customer_scores, scores)):
        connection.execute(insert(table), rows)


def _anniversaries_grouping_every_order(connection: Connection, day: date) -> list[int]:
    """How anniversaries were found before: every customer's first order, then the date."""
    first = (
        select(orders.c.customer_id, func.min(orders.c.placed_at).label("first_at"))
        .where(orders.c.cancelled_at.is_(None))
        .group_by(orders.c.customer_id)
        .subquery()
    )
    query = select(first.c.customer_id).where(
        extract("month", first.c.first_at) == day.month,
        extract("day", first.c.first_at) == day.day,
        extract("year", first.c.first_at) < day.year,
    )
    return sorted(connection.scalars(query))


def _check_anniversaries(connection: Connection) -> None:
    _store(connection)
    triggers = SqlTriggers(connection)
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(365)] + [date(2028, 2, 29)]
    found = 0
    for day in days:
        expected = _anniversaries_grouping_every_order(connection, day)
        assert triggers.on_date("first_order_anniversary", day) == expected, day
        found += len(expected)
    assert found > 40  # the days do have anniversaries


def test_anniversaries_are_those_grouping_every_order_finds(connection: Connection) -> None:
    _check_anniversaries(connection)
    # The edges of the day count.
    assert SqlTriggers(connection).on_date("first_order_anniversary", date(2026, 6, 1))
    assert SqlTriggers(connection).on_date("first_order_anniversary", date(2028, 2, 29))


@pytest.mark.postgres
@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])
def test_anniversaries_hold_in_postgresql_sessions_far_from_utc(postgres_url: str, zone: str) -> None:
    """PostgreSQL reads month and day in the session's time zone (SQLite has none)."""
    application = bootstrap(postgres_url)
    try:
        with application.engine.begin() as connection:
            connection.exec_driver_sql(f"SET TIME ZONE '{zone}'")
            _check_anniversaries(connection)
    finally:
        application.close()


def test_no_orders_no_anniversaries(connection: Connection) -> None:
    assert SqlTriggers(connection).on_date("first_order_anniversary", date(2026, 6, 1)) == []


def _facts_a_query_at_a_time(
    connection: Connection, ids: list[int], currency: str
) -> dict[int, dict[str, Any]]:
    """How facts were read before: SQLAlchemy queries, row by row."""
    found: dict[int, dict[str, Any]] = {c: {} for c in ids}
    query = (
        select(
            orders.c.customer_id, func.count(), func.sum(orders.c.total - orders.c.refunded),
            func.min(orders.c.placed_at), func.max(orders.c.placed_at), func.max(orders.c.currency),
        )
        .where(orders.c.customer_id.in_(ids), orders.c.cancelled_at.is_(None), orders.c.placed_at <= NOW)
        .group_by(orders.c.customer_id)
    )  # fmt: skip
    for customer, count, net, first, last, spent in connection.execute(query):
        revenue = float(to_decimal(int(net or 0), spent))
        found[customer].update(
            orders=int(count), revenue=revenue, average_order_value=revenue / int(count),
            days_since_first_order=(NOW - first).days, days_since_last_order=(NOW - last).days,
        )  # fmt: skip
    scores = select(
        customer_scores.c.customer_id, customer_scores.c.p_alive, customer_scores.c.churn_probability,
        customer_scores.c.predicted_orders, customer_scores.c.predicted_clv,
    ).where(customer_scores.c.customer_id.in_(ids))  # fmt: skip
    for row in connection.execute(scores):
        found[row.customer_id].update(
            p_alive=row.p_alive, churn_probability=row.churn_probability,
            predicted_orders=row.predicted_orders,
            predicted_clv=float(to_decimal(row.predicted_clv, currency)),
        )  # fmt: skip
    for customer in found:
        found[customer].setdefault("orders", 0)
    return found


def test_facts_are_those_a_query_at_a_time_finds(connection: Connection) -> None:
    _store(connection)
    ids = [*IDS, 3 * CHUNK + 1]  # and one customer who is not there
    expected = _facts_a_query_at_a_time(connection, ids, "EUR")
    facts = SqlTriggers(connection).facts(list(reversed(ids)), NOW, "EUR")
    assert facts == expected
    assert sum(1 for f in facts.values() if f["orders"] > 1) > 20
    assert sum(1 for f in facts.values() if "p_alive" in f) > 80
    assert any(f["orders"] == 0 for f in facts.values())
    # Only the kinds asked for; of the order facts, the count alone when that is all.
    scored = ("p_alive", "churn_probability", "predicted_orders", "predicted_clv")
    triggers = SqlTriggers(connection)
    assert triggers.facts(ids, NOW, "EUR", {"revenue", "orders"}) == {
        c: {k: v for k, v in f.items() if k not in scored} for c, f in expected.items()
    }
    assert triggers.facts(ids, NOW, "EUR", {"orders"}) == {
        c: {"orders": f["orders"]} for c, f in expected.items()
    }
    assert triggers.facts(ids, NOW, "EUR", {"p_alive"}) == {
        c: {k: f[k] for k in scored if k in f} for c, f in expected.items()
    }
    assert SqlTriggers(connection).facts([], NOW, "EUR") == {}


def _run(flow: str, customer: int, entry_no: int, entered_at: datetime, state: str) -> dict[str, Any]:
    return {"flow": flow, "customer_id": customer, "entry_no": entry_no, "entered_at": entered_at,
            "holdout": state == "holdout", "state": state, "step": 0,
            "next_run_at": entered_at if state == "active" else None, "context": {}}  # fmt: skip


def test_history_and_exits(connection: Connection) -> None:
    _store(connection)
    day = timedelta(days=1)
    a, b, c, d = IDS[0], IDS[1], CHUNK + 3, 2 * CHUNK + 7
    connection.execute(
        insert(flow_entries),
        [
            _run("nudge", a, 1, NOW - 40 * day, "completed"),
            _run("nudge", a, 2, NOW - 10 * day, "active"),
            _run("nudge", b, 1, NOW - 5 * day, "holdout"),
            _run("nudge", c, 1, NOW - 3 * day, "active"),
            _run("nudge", d, 1, NOW - day, "active"),
            _run("other", d, 1, NOW - 9 * day, "active"),
        ],
    )
    flows = SqlFlows(connection)
    assert flows.history("nudge", [d, c, b, a, a, 99_999]) == {
        a: History(NOW - 10 * day, True, 2),
        b: History(NOW - 5 * day, False, 1),
        c: History(NOW - 3 * day, True, 1),
        d: History(NOW - day, True, 1),
    }
    assert flows.history("nudge", []) == {}
    events = [
        (a, NOW - 20 * day, "order_placed"),  # before a's active run: it stays
        (c, NOW - 2 * day, "unsubscribed"),  # the first that applies ends the run
        (c, NOW - day, "order_placed"),
        (b, NOW, "order_placed"),  # held out, not active
        (d, NOW - 2 * day, "order_placed"),  # before d entered
        (d, NOW - day, "refunded"),  # the very moment d entered: it ends
    ]
    assert flows.exit_on("nudge", events, NOW) == 2
    query = select(flow_entries.c.flow, flow_entries.c.customer_id, flow_entries.c.entry_no,
                   flow_entries.c.state, flow_entries.c.exit_reason, flow_entries.c.finished_at,
                   flow_entries.c.next_run_at).order_by(flow_entries.c.id)  # fmt: skip
    assert [tuple(r) for r in connection.execute(query)] == [
        ("nudge", a, 1, "completed", None, None, None),
        ("nudge", a, 2, "active", None, None, NOW - 10 * day),
        ("nudge", b, 1, "holdout", None, None, None),
        ("nudge", c, 1, "exited", "unsubscribed", NOW, None),
        ("nudge", d, 1, "exited", "refunded", NOW, None),
        ("other", d, 1, "active", None, None, NOW - 9 * day),
    ]
    assert flows.exit_on("nudge", events, NOW) == 0
    assert flows.exit_on("nudge", [], NOW) == 0


def test_entrants_of_every_flow_are_written_in_order(connection: Connection) -> None:
    _store(connection)
    a, b, c = IDS[0], IDS[1], IDS[2]
    SqlFlows(connection).enter(
        NOW,
        [
            Entrants("thanks", [a, b], [1, 3], [False, True], [{"order_id": 7, "first_order": True}, {}]),
            Entrants("empty", [], [], [], []),
            Entrants("birthday", [c, a], [1, 1], [True, False], [{"date": "2026-06-01"}, {"note": ODD}]),
        ],
    )
    query = select(
        flow_entries.c.flow, flow_entries.c.customer_id, flow_entries.c.entry_no, flow_entries.c.entered_at,
        flow_entries.c.holdout, flow_entries.c.state, flow_entries.c.step, flow_entries.c.next_run_at,
        flow_entries.c.finished_at, flow_entries.c.context, flow_entries.c.waiting_for,
        flow_entries.c.lease_owner,
    ).order_by(flow_entries.c.id)  # fmt: skip
    rows = [tuple(r) for r in connection.execute(query)]
    assert rows == [
        (
            "thanks",
            a,
            1,
            NOW,
            False,
            "active",
            0,
            NOW,
            None,
            {"order_id": 7, "first_order": True},
            None,
            None,
        ),
        ("thanks", b, 3, NOW, True, "holdout", 0, None, NOW, {}, None, None),
        ("birthday", c, 1, NOW, True, "holdout", 0, None, NOW, {"date": "2026-06-01"}, None, None),
        ("birthday", a, 1, NOW, False, "active", 0, NOW, None, {"note": ODD}, None, None),
    ]
    raw = connection.exec_driver_sql("SELECT CAST(context AS TEXT) FROM flow_entries ORDER BY id").scalars()
    assert [json.loads(text) for text in raw] == [r[9] for r in rows]
    SqlFlows(connection).enter(NOW, [Entrants("none", [], [], [], [])])  # nothing to write
    assert connection.scalar(select(func.count()).select_from(flow_entries)) == 4


def test_recorded_orders_know_each_customers_first(connection: Connection) -> None:
    _store(connection)
    kept = connection.execute(
        select(orders.c.id, orders.c.customer_id, orders.c.placed_at, orders.c.total, orders.c.currency)
        .where(orders.c.cancelled_at.is_(None))
        .order_by(orders.c.customer_id, orders.c.placed_at, orders.c.id)
    ).all()
    first: dict[int, int] = {}
    for row in kept:  # the earliest order not cancelled, then the lowest id
        first.setdefault(row.customer_id, row.id)
    triggers = SqlTriggers(connection)
    assert triggers.record_orders(NOW - timedelta(days=6 * 365), NOW + timedelta(days=10)) == len(kept)
    events = triggers.events_after(0, limit=100_000)
    assert {(e.customer_id, e.at, e.data["order_id"]) for e in events} == {
        (r.customer_id, r.placed_at, r.id) for r in kept
    }
    assert {e.data["order_id"] for e in events if e.data["first_order"]} == set(first.values())
    assert len(first) > 80
    assert len({r.customer_id for r in kept if r.customer_id > CHUNK}) > 30
    totals = {r.id: float(to_decimal(r.total, r.currency)) for r in kept}
    assert all(e.data["order_total"] == totals[e.data["order_id"]] for e in events)
    assert triggers.record_orders(NOW - timedelta(days=6 * 365), NOW + timedelta(days=10)) == 0
