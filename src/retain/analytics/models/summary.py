"""Per-customer calibration summary for buy-till-you-die models: x, t_x, T and mean spend.

Several orders by one customer on one day count as one transaction (the convention behind
the published CDNOW results). Days follow the store's time zone.

The grouping is done in numpy by sorting on one integer key (customer, day), not by two
hash GROUP BYs on the engine. On a million customers' 4.9M orders those took 0.7-0.9 s;
the runs take under 0.2 s when the orders are already by customer, and with the sort
0.4-0.6 s when they are in time order or shuffled. In UTC
the columns come straight from the snapshot's Arrow table; in another zone DuckDB finds
each order's local day first.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from retain.analytics.engine import Analytics

Unit = Literal["day", "week"]
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0}

Ints = npt.NDArray[np.int64]
DAY_US = 86_400_000_000  # the engine's timestamps are microseconds
EPOCH = date(1970, 1, 1)

# Each order's customer, local day (days since 1970-01-01) and net, up to the end. Orders
# more than a day past the end cannot fall on or before it in any zone; skipping them
# before the zone lookups keeps the calibration of an old period fast.
ORDER_DAYS_SQL = """
SELECT customer_id, day, coalesce(net, 0) AS net
FROM (
    SELECT customer_id, {day} - DATE '1970-01-01' AS day, net
    FROM orders
    WHERE placed_at < $cutoff AND customer_id IS NOT NULL
)
WHERE day <= $end
"""


def _local_day(timezone: str) -> str:
    """The SQL for an order's day in the store's zone; UTC needs no zone lookup per row."""
    return "placed_at::DATE" if timezone == "UTC" else "timezone($zone, placed_at::TIMESTAMPTZ)::DATE"


@dataclass(frozen=True)
class Summary:
    """Arrays aligned on ``customer_id``; t_x and T in ``unit``; spend in minor units."""

    customer_id: npt.NDArray[np.int64]
    x: npt.NDArray[np.float64]
    t_x: npt.NDArray[np.float64]
    T: npt.NDArray[np.float64]
    mean_repeat_spend: npt.NDArray[np.float64]
    unit: Unit
    orders: npt.NDArray[np.int64]  # every order up to the end, same-day ones apart
    revenue: npt.NDArray[np.int64]  # net, minor units

    def __len__(self) -> int:
        return len(self.customer_id)


def calibration_summary(
    analytics: Analytics, calibration_end: date, unit: Unit = "week", timezone: str = "UTC"
) -> Summary:
    """Customers whose first order is on or before ``calibration_end`` (that day included),
    in ascending order of id."""
    end = (calibration_end - EPOCH).days
    customer, day, net = _order_days(analytics, calibration_end, end, timezone)
    ids, x, first, last, mean_repeat_spend, orders, revenue = _per_customer(customer, day, net)
    per = DAYS_PER_UNIT[unit]
    return Summary(
        customer_id=ids,
        x=x,
        t_x=(last - first).astype(np.float64) / per,
        T=(end - first).astype(np.float64) / per,
        mean_repeat_spend=mean_repeat_spend,
        unit=unit,
        orders=orders,
        revenue=revenue,
    )


def _order_days(
    analytics: Analytics, calibration_end: date, end: int, timezone: str
) -> tuple[Ints, Ints, Ints]:
    """Each order's customer, day and net, for the orders on or before day ``end``."""
    orders = analytics.orders.select(["customer_id", "placed_at", "net"])
    if timezone == "UTC" and not any(column.null_count for column in orders.columns):
        # UTC days straight from the Arrow columns: no query, no copy when in one chunk.
        customer = orders["customer_id"].to_numpy()
        placed = orders["placed_at"].to_numpy().view(np.int64)
        net = orders["net"].to_numpy()
        kept = placed < (end + 1) * DAY_US  # before the next day's midnight
        if not kept.all():
            customer, placed, net = customer[kept], placed[kept], net[kept]
        return customer, placed // DAY_US, net
    params: dict[str, object] = {
        "end": end,
        "cutoff": datetime.combine(calibration_end + timedelta(days=2), time()),
    }
    if timezone != "UTC":
        params["zone"] = timezone
    sql = ORDER_DAYS_SQL.format(day=_local_day(timezone))
    rows = analytics.connection.execute(sql, params).fetchnumpy()
    customer, day, net = (np.asarray(rows[name], dtype=np.int64) for name in ("customer_id", "day", "net"))
    return customer, day, net


def _sorted(key: Ints, net: Ints) -> tuple[Ints, Ints]:
    """``key`` sorted, and ``net`` in the same order.

    When the key leaves room for a row number in the low bits, the two are sorted as one
    integer, each half on its own thread (numpy's sort lets go of the GIL) and the halves
    merged (a stable sort of two sorted runs is one merge). On a million customers' orders
    that takes a third of an argsort's time when they are shuffled, and two thirds when they
    are in time order.
    """
    bits = int(key.size).bit_length()
    if int(key.max()) >= 2 ** (63 - bits):
        order = np.argsort(key, kind="stable")
        return key[order], net[order]
    packed = key << bits
    packed |= np.arange(key.size)
    half = packed.size // 2
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(np.ndarray.sort, (packed[:half], packed[half:])))
    packed.sort(kind="stable")
    order = packed & ((1 << bits) - 1)
    packed >>= bits
    return packed, net[order]


def _per_customer(
    customer: Ints, day: Ints, net: Ints
) -> tuple[Ints, npt.NDArray[np.float64], Ints, Ints, npt.NDArray[np.float64], Ints, Ints]:
    """Orders grouped into (customer, day) and those into customers, by sorting rather than
    hashing: customer id, x, first and last day, mean repeat spend, orders and revenue.

    One integer key orders the rows by customer, then day. Orders already in that order (a
    snapshot read by customer) need no sort, and the groups are runs of equal keys.
    """
    if customer.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.astype(np.float64), empty, empty, empty.astype(np.float64), empty, empty
    low, high = int(customer.min()), int(customer.max())
    first_day, last_day = int(day.min()), int(day.max())
    days = last_day - first_day + 1
    ids: Ints | None = None
    if (high - low + 1) * days < 2**62:
        key = customer - low
    else:  # ids too far apart for one key: number the customers in order first
        ids, codes = np.unique(customer, return_inverse=True)
        key, low = codes.astype(np.int64), 0
    key *= days
    key += day
    key -= first_day
    if not bool(np.all(key[1:] >= key[:-1])):
        key, net = _sorted(key, net)
    # Runs of one key are one customer's orders on one day.
    day_starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    spend = np.add.reduceat(net, day_starts)
    day_orders = np.diff(day_starts, append=key.size)
    day_key = key[day_starts]
    owner = day_key // days
    local = day_key - owner * days + first_day
    # Runs of one customer among those days.
    starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
    ends = np.append(starts[1:], owner.size) - 1
    repeats = np.diff(starts, append=owner.size) - 1
    revenue = np.add.reduceat(spend, starts)
    # Spend after the first day, per repeat day; nothing for one-day customers.
    mean_repeat_spend = (revenue - spend[starts]) / np.maximum(repeats, 1)
    customer_ids = owner[starts] + low if ids is None else ids[owner[starts]]
    return (
        customer_ids,
        repeats.astype(np.float64),
        local[starts],
        local[ends],
        mean_repeat_spend,
        np.add.reduceat(day_orders, starts),
        revenue,
    )


HOLDOUT_SQL = """
WITH days AS (
    SELECT DISTINCT customer_id, timezone($zone, placed_at::TIMESTAMPTZ)::DATE AS day FROM orders
)
SELECT customer_id, count(*) FILTER (WHERE day > $start AND day <= $end) AS purchases
FROM days GROUP BY customer_id
"""


def holdout_counts(
    analytics: Analytics, summary: Summary, calibration_end: date, holdout_end: date, timezone: str = "UTC"
) -> npt.NDArray[np.float64]:
    """Each summary customer's transaction days after the calibration end, up to the holdout end."""
    rows = analytics.connection.execute(
        HOLDOUT_SQL, {"zone": timezone, "start": calibration_end, "end": holdout_end}
    ).fetchnumpy()
    counts = dict(zip(rows["customer_id"].tolist(), rows["purchases"].tolist(), strict=True))
    return np.array([counts.get(int(c), 0) for c in summary.customer_id], dtype=np.float64)


def cumulative_curve(
    expected: Callable[[npt.NDArray[np.float64]], npt.NDArray[np.float64]], summary: Summary, periods: int
) -> npt.NDArray[np.float64]:
    """Expected cumulative repeat transactions of the whole cohort after each period.

    Period k counts from the earliest first purchase; a customer who joined ``offset``
    periods later contributes ``expected(k - offset)`` once k is past their start.
    ``expected`` is a model's expected transactions for a new customer over a time.
    """
    offsets = summary.T.max() - summary.T
    curve = np.empty(periods)
    for k in range(1, periods + 1):
        since = np.maximum(k - offsets, 0.0)
        curve[k - 1] = float(np.sum(expected(since)))
    return curve
