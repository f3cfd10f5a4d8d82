"""The calibration summary, grouped by sorting in numpy, gives what two GROUP BYs in SQL give.

The reference is the plain SQL the summary used to run on the engine: orders grouped into
(customer, local day), then days into customers. Histories are drawn at random with
several orders a day, orders on either side of midnight and of the end, refunds, and rows
in customer order (the no-sort path), in time order and shuffled (the sort paths).
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta

import numpy as np
import pyarrow as pa
import pytest

from retain.analytics.engine import ORDERS_SCHEMA, Analytics
from retain.analytics.models.summary import Summary, _sorted, calibration_summary

REFERENCE_SQL = """
WITH days AS (
    SELECT customer_id, {day} AS day, sum(net)::BIGINT AS spend, count(*) AS orders
    FROM orders
    WHERE placed_at < $cutoff
    GROUP BY ALL
    HAVING day <= $end
)
SELECT
    customer_id,
    (count(*) - 1)::DOUBLE AS x,
    date_diff('day', min(day), max(day))::DOUBLE AS t_x_days,
    date_diff('day', min(day), $end)::DOUBLE AS t_days,
    coalesce((sum(spend) - arg_min(spend, day)) / nullif(count(*) - 1, 0), 0) AS mean_repeat_spend,
    sum(orders)::BIGINT AS orders,
    sum(spend)::BIGINT AS revenue
FROM days
GROUP BY customer_id
ORDER BY customer_id
"""
END = date(2021, 3, 14)  # a DST change in New York
PER = {"day": 1.0, "week": 7.0}


def _reference(analytics: Analytics, end: date, unit: str, timezone: str) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    day = "placed_at::DATE" if timezone == "UTC" else "timezone($zone, placed_at::TIMESTAMPTZ)::DATE"
    params: dict[str, object] = {"end": end, "cutoff": datetime.combine(end + timedelta(days=2), time())}
    if timezone != "UTC":
        params["zone"] = timezone
    rows = analytics.connection.execute(REFERENCE_SQL.format(day=day), params).fetchnumpy()
    return {
        "customer_id": np.asarray(rows["customer_id"]),
        "x": np.asarray(rows["x"]),
        "t_x": np.asarray(rows["t_x_days"]) / PER[unit],
        "T": np.asarray(rows["t_days"]) / PER[unit],
        "mean_repeat_spend": np.asarray(rows["mean_repeat_spend"]),
        "orders": np.asarray(rows["orders"]),
        "revenue": np.asarray(rows["revenue"]),
    }


def _orders(seed: int, customers: int = 3000, id_step: int = 1) -> pa.Table:
    """Orders in customer then time order, several on some days, around midnight and the end."""
    rng = np.random.default_rng(seed)
    counts = rng.geometric(0.3, customers)
    owner = np.repeat(np.arange(customers, dtype=np.int64), counts)
    end = np.datetime64(END, "us")
    # Minutes from 120 days before the end to 3 days after; a few bunched on one day.
    minutes = rng.integers(-120 * 1440, 3 * 1440, owner.size)
    minutes[rng.random(owner.size) < 0.2] = rng.integers(-1440, 1440, 1)[0]
    placed = end + minutes.astype("timedelta64[m]")
    net = rng.integers(-500, 20_000, owner.size)  # refunds can take a day's net below zero
    order = np.lexsort((placed, owner))
    return pa.table(
        {
            "customer_id": (owner[order] * id_step + 17),
            "placed_at": placed[order],
            "net": net[order],
            "currency": pa.repeat(pa.scalar("USD"), owner.size),
        },
        schema=ORDERS_SCHEMA,
    )


def _assert_same(summary: Summary, expected: dict[str, np.ndarray], unit: str) -> None:  # type: ignore[type-arg]
    assert summary.unit == unit
    for name, values in expected.items():
        got = getattr(summary, name)
        assert got.dtype == values.dtype, name
        np.testing.assert_array_equal(got, values, err_msg=name)


def _in(order: str, table: pa.Table, seed: int) -> pa.Table:
    if order == "customer":
        return table
    if order == "time":
        return table.take(np.argsort(table["placed_at"].to_numpy(), kind="stable"))
    return table.take(np.random.default_rng(seed).permutation(table.num_rows))


@pytest.mark.parametrize("order", ["customer", "time", "shuffled"])
@pytest.mark.parametrize("timezone", ["UTC", "America/New_York", "Asia/Kathmandu"])
def test_the_summary_matches_the_two_group_bys(order: str, timezone: str) -> None:
    analytics = Analytics(_in(order, _orders(seed=3), seed=4))
    for end, unit in ((END, "day"), (END - timedelta(days=30), "week")):
        summary = calibration_summary(analytics, end, unit, timezone)  # type: ignore[arg-type]
        assert len(summary) > 1000
        _assert_same(summary, _reference(analytics, end, unit, timezone), unit)


def test_orders_in_several_chunks_and_ids_far_apart_give_the_same_summary() -> None:
    # Ids 2^50 apart leave no room for a (customer, day) key: customers are numbered first.
    table = _orders(seed=8, customers=500, id_step=2**50)
    shuffled = _in("shuffled", table, seed=9)
    chunked = pa.concat_tables([shuffled.slice(0, 700), shuffled.slice(700)])
    assert chunked["customer_id"].num_chunks == 2
    analytics = Analytics(chunked)
    summary = calibration_summary(analytics, END, "day")
    assert summary.customer_id.max() > 2**58
    _assert_same(summary, _reference(analytics, END, "day", "UTC"), "day")


def test_sorting_keys_with_or_without_room_for_the_row_number() -> None:
    rng = np.random.default_rng(2)
    net = rng.integers(-100, 100, 5001)
    for high in (1000, 2**61):  # the second is too wide to pack with a row number
        key = rng.integers(0, high, net.size)
        key[::7] = key[0]  # ties
        sorted_key, sorted_net = _sorted(key.copy(), net)
        np.testing.assert_array_equal(sorted_key, np.sort(key))
        # Each net stays with its key: the sums per key agree.
        for value in np.unique(key)[:50]:
            assert sorted_net[sorted_key == value].sum() == net[key == value].sum()


def test_no_orders_by_the_end_give_an_empty_summary() -> None:
    analytics = Analytics(_orders(seed=1, customers=50))
    summary = calibration_summary(analytics, date(2000, 1, 1), "day")
    assert len(summary) == 0
    for field in dataclasses.fields(summary):
        value = getattr(summary, field.name)
        if isinstance(value, np.ndarray):
            assert value.size == 0


def test_a_missing_net_counts_as_nothing_and_an_order_without_a_customer_is_left_out() -> None:
    table = pa.table(
        {
            "customer_id": [1, 1, 1, None, 2],
            "placed_at": [
                datetime.fromisoformat("2021-03-01"),
                datetime.fromisoformat("2021-03-01 09:00"),
                datetime.fromisoformat("2021-03-05"),
                datetime.fromisoformat("2021-03-05"),
                datetime.fromisoformat("2021-03-02"),
            ],
            "net": [1000, None, 300, 999, 500],
            "currency": ["USD"] * 5,
        },
        schema=ORDERS_SCHEMA,
    )
    summary = calibration_summary(Analytics(table), END, "day")
    np.testing.assert_array_equal(summary.customer_id, [1, 2])
    np.testing.assert_array_equal(summary.x, [1.0, 0.0])
    np.testing.assert_array_equal(summary.t_x, [4.0, 0.0])
    np.testing.assert_array_equal(summary.T, [13.0, 12.0])
    np.testing.assert_array_equal(summary.orders, [3, 1])
    np.testing.assert_array_equal(summary.revenue, [1300, 500])
    np.testing.assert_array_equal(summary.mean_repeat_spend, [300.0, 0.0])
