"""Per-customer calibration summary for buy-till-you-die models: x, t_x, T and mean spend.

Several orders by one customer on one day count as one transaction (the convention behind
the published CDNOW results). Days follow the store's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt

from retain.analytics.engine import Analytics

Unit = Literal["day", "week"]
DAYS_PER_UNIT = {"day": 1.0, "week": 7.0}

SUMMARY_SQL = """
WITH days AS (
    SELECT customer_id, timezone($zone, placed_at::TIMESTAMPTZ)::DATE AS day, sum(net) AS spend
    FROM orders
    GROUP BY ALL
    HAVING day <= $end
), ranked AS (
    SELECT *, min(day) OVER (PARTITION BY customer_id) AS first_day FROM days
)
SELECT
    customer_id,
    count(*) - 1 AS x,
    date_diff('day', min(day), max(day)) AS t_x_days,
    date_diff('day', min(day), $end) AS t_days,
    coalesce(avg(spend) FILTER (WHERE day > first_day), 0) AS mean_repeat_spend
FROM ranked
GROUP BY customer_id
ORDER BY customer_id
"""


@dataclass(frozen=True)
class Summary:
    """Arrays aligned on ``customer_id``; t_x and T in ``unit``; spend in minor units."""

    customer_id: npt.NDArray[np.int64]
    x: npt.NDArray[np.float64]
    t_x: npt.NDArray[np.float64]
    T: npt.NDArray[np.float64]
    mean_repeat_spend: npt.NDArray[np.float64]
    unit: Unit

    def __len__(self) -> int:
        return len(self.customer_id)


def calibration_summary(
    analytics: Analytics, calibration_end: date, unit: Unit = "week", timezone: str = "UTC"
) -> Summary:
    """Customers whose first order is on or before ``calibration_end`` (that day included)."""
    rows = analytics.connection.execute(SUMMARY_SQL, {"end": calibration_end, "zone": timezone}).fetchnumpy()
    per = DAYS_PER_UNIT[unit]
    return Summary(
        customer_id=np.asarray(rows["customer_id"], dtype=np.int64),
        x=np.asarray(rows["x"], dtype=np.float64),
        t_x=np.asarray(rows["t_x_days"], dtype=np.float64) / per,
        T=np.asarray(rows["t_days"], dtype=np.float64) / per,
        mean_repeat_spend=np.asarray(rows["mean_repeat_spend"], dtype=np.float64),
        unit=unit,
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
