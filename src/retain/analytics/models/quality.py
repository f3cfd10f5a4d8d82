"""How well the purchase model forecasts: the figures behind the model-quality report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import BetaGeoModel
from retain.analytics.models.numerics import FitError
from retain.analytics.models.predict import MIN_CUSTOMERS
from retain.analytics.models.summary import calibration_summary, cumulative_curve, holdout_counts

Array = npt.NDArray[np.float64]
LAST_BUCKET = 7  # calibration purchase counts of 7 and more are pooled, as in FHL 2005, fig. 4

ACTUAL_SQL = """
WITH days AS (
    SELECT DISTINCT customer_id, timezone($zone, placed_at::TIMESTAMPTZ)::DATE AS day FROM orders
), first AS (
    SELECT customer_id, min(day) AS start FROM days WHERE day <= $calibration_end GROUP BY customer_id
)
SELECT date_diff('day', (SELECT min(start) FROM first), day) AS age
FROM days JOIN first USING (customer_id)
WHERE day > start AND day <= $holdout_end
"""


@dataclass(frozen=True)
class Quality:
    calibration_periods: int
    actual_cumulative: Array  # repeat transactions by period, from the earliest first purchase
    expected_cumulative: Array
    buckets: list[str]  # "0", "1", ... "7+"
    expected_holdout: Array  # mean conditional expectation per bucket
    actual_holdout: Array  # mean actual holdout transactions per bucket
    correlation: float


def model_quality(
    analytics: Analytics, calibration_end: date, holdout_end: date, timezone: str = "UTC"
) -> Quality:
    """BG/NBD fitted in weeks up to ``calibration_end``, judged on the holdout after it."""
    summary = calibration_summary(analytics, calibration_end, "week", timezone)
    if len(summary) < MIN_CUSTOMERS:
        raise FitError(
            f"only {len(summary)} customers ordered by {calibration_end}; the report needs {MIN_CUSTOMERS}"
        )
    model = BetaGeoModel().fit(summary.x, summary.t_x, summary.T)
    holdout_weeks = (holdout_end - calibration_end).days / 7
    periods = int(np.ceil(summary.T.max() + holdout_weeks))
    ages = analytics.connection.execute(
        ACTUAL_SQL, {"zone": timezone, "calibration_end": calibration_end, "holdout_end": holdout_end}
    ).fetchnumpy()["age"]
    weekly = np.bincount(np.floor(np.asarray(ages, dtype=np.float64) / 7).astype(int), minlength=periods)[
        :periods
    ]
    actual = holdout_counts(analytics, summary, calibration_end, holdout_end, timezone)
    predicted = model.conditional_expected_transactions(holdout_weeks, summary.x, summary.t_x, summary.T)
    bucket = np.minimum(summary.x, LAST_BUCKET).astype(int)
    return Quality(
        calibration_periods=int(np.ceil(summary.T.max())),
        actual_cumulative=np.cumsum(weekly).astype(np.float64),
        expected_cumulative=cumulative_curve(model.expected_transactions, summary, periods),
        buckets=[str(k) if k < LAST_BUCKET else f"{k}+" for k in range(LAST_BUCKET + 1)],
        expected_holdout=np.array(
            [predicted[bucket == k].mean() if np.any(bucket == k) else np.nan for k in range(LAST_BUCKET + 1)]
        ),
        actual_holdout=np.array(
            [actual[bucket == k].mean() if np.any(bucket == k) else np.nan for k in range(LAST_BUCKET + 1)]
        ),
        correlation=float(np.corrcoef(predicted, actual)[0, 1]),
    )
