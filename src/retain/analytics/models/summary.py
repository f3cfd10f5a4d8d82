"""Per-customer calibration summary for buy-till-you-die models: x, t_x, T and mean spend.

Several orders by one customer on one day count as one transaction (the convention behind
the published CDNOW results). Days follow the store's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from retain.analytics.engine import Analytics

Unit = Literal["day", "week"]
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0}

# One pass groups orders into (customer, day); a second groups days into customers. The
# first day's spend is arg_min(spend, day), so no window over the days is needed. A day's
# spend is cast back to BIGINT (sum makes it a 128-bit HUGEINT, slower to sum again and to
# hand over), and the columns leave as the types the arrays take, so none is converted.
SUMMARY_SQL = """
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
    """Customers whose first order is on or before ``calibration_end`` (that day included)."""
    # Orders more than a day past the end cannot fall on or before it in any zone; skipping
    # them before grouping keeps the calibration of an old period fast.
    cutoff = datetime.combine(calibration_end + timedelta(days=2), time())
    params: dict[str, object] = {"end": calibration_end, "cutoff": cutoff}
    if timezone != "UTC":
        params["zone"] = timezone
    sql = SUMMARY_SQL.format(day=_local_day(timezone))
    rows = analytics.connection.execute(sql, params).fetchnumpy()
    per = DAYS_PER_UNIT[unit]
    return Summary(
        customer_id=np.asarray(rows["customer_id"], dtype=np.int64),
        x=np.asarray(rows["x"], dtype=np.float64),
        t_x=np.asarray(rows["t_x_days"], dtype=np.float64) / per,
        T=np.asarray(rows["t_days"], dtype=np.float64) / per,
        mean_repeat_spend=np.asarray(rows["mean_repeat_spend"], dtype=np.float64),
        unit=unit,
        orders=np.asarray(rows["orders"], dtype=np.int64),
        revenue=np.asarray(rows["revenue"], dtype=np.int64),
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
