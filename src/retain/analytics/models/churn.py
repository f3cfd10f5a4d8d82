"""A supervised model of "orders again within the next N days", beside the BG/NBD ranking.

Features per customer at a cutoff day (all from orders before it): days since the last
and first order, orders, mean order value, mean days between orders, days since the last
order over that mean, and BG/NBD's P(alive) and expected orders in the next N days from a
fit on the same history. Training rows come from several earlier cutoffs (time slices);
the temporal holdout is the latest cutoff whose N following days have happened. The
gradient-boosted model is used for churn only where it ranks the holdout better (AUC)
than BG/NBD's expected orders do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import BetaGeoModel, FitError
from retain.analytics.models.predict import MIN_CUSTOMERS
from retain.analytics.models.summary import calibration_summary

Array = npt.NDArray[np.float64]
FEATURES = (
    "days_since_last", "days_since_first", "orders", "mean_value", "mean_gap", "overdue",
    "p_alive", "expected_orders",
)  # fmt: skip

LABELS_SQL = """
WITH days AS (
    SELECT DISTINCT customer_id, timezone($zone, placed_at::TIMESTAMPTZ)::DATE AS day FROM orders
)
SELECT customer_id, count(*) FILTER (WHERE day > $cutoff AND day <= $until) > 0 AS again
FROM days GROUP BY customer_id
"""
VALUES_SQL = """
SELECT customer_id, avg(net) AS mean_value FROM orders
WHERE timezone($zone, placed_at::TIMESTAMPTZ)::DATE <= $cutoff GROUP BY customer_id
"""


@dataclass(frozen=True)
class ChurnReport:
    horizon_days: int
    holdout_cutoff: date
    training_rows: int
    holdout_rows: int
    auc_model: float
    auc_btyd: float
    brier_model: float
    calibration: list[tuple[float, float, int]]  # (mean predicted, observed rate, customers) per decile

    @property
    def use_model(self) -> bool:
        """Use the supervised churn probability only if it ranks the holdout better."""
        return self.auc_model > self.auc_btyd


def _features(
    analytics: Analytics, cutoff: date, horizon: int, timezone: str
) -> tuple[npt.NDArray[np.int64], Array]:
    summary = calibration_summary(analytics, cutoff, "day", timezone)
    if len(summary) < MIN_CUSTOMERS:
        raise FitError(
            f"only {len(summary)} customers ordered by {cutoff}; the churn model needs {MIN_CUSTOMERS}"
        )
    model = BetaGeoModel().fit(summary.x, summary.t_x, summary.T)
    values = analytics.connection.execute(VALUES_SQL, {"cutoff": cutoff, "zone": timezone}).fetchnumpy()
    mean_value = dict(zip(values["customer_id"].tolist(), values["mean_value"].tolist(), strict=True))
    orders = summary.x + 1
    mean_gap = np.where(summary.x > 0, summary.t_x / np.maximum(summary.x, 1), np.nan)
    since_last = summary.T - summary.t_x
    columns = [
        since_last,
        summary.T,
        orders,
        np.array([mean_value[int(c)] for c in summary.customer_id], dtype=np.float64),
        mean_gap,
        since_last / mean_gap,
        model.p_alive(summary.x, summary.t_x, summary.T),
        model.conditional_expected_transactions(float(horizon), summary.x, summary.t_x, summary.T),
    ]
    return summary.customer_id, np.column_stack(columns)


def _labels(
    analytics: Analytics, ids: npt.NDArray[np.int64], cutoff: date, horizon: int, timezone: str
) -> Array:
    params = {"cutoff": cutoff, "until": cutoff + timedelta(days=horizon), "zone": timezone}
    rows = analytics.connection.execute(LABELS_SQL, params).fetchnumpy()
    again = dict(zip(rows["customer_id"].tolist(), rows["again"].tolist(), strict=True))
    return np.array([again.get(int(c), False) for c in ids], dtype=np.float64)


def evaluate_churn_model(
    analytics: Analytics, last_day: date, horizon_days: int = 90, slices: int = 3, timezone: str = "UTC"
) -> ChurnReport:
    """Train on ``slices`` cutoffs before the holdout cutoff (last_day - horizon) and judge on it."""
    holdout_cutoff = last_day - timedelta(days=horizon_days)
    training_x, training_y = [], []
    for k in range(1, slices + 1):
        cutoff = holdout_cutoff - timedelta(days=horizon_days * k)
        try:
            ids, features = _features(analytics, cutoff, horizon_days, timezone)
        except FitError:
            continue  # too early: not enough history at this cutoff
        training_x.append(features)
        training_y.append(_labels(analytics, ids, cutoff, horizon_days, timezone))
    if not training_x:
        raise FitError("not enough history before the holdout to train the churn model")
    features_x, labels = np.vstack(training_x), np.concatenate(training_y)
    if len(set(labels.tolist())) < 2:
        raise FitError("every training customer behaved alike; nothing to learn from")
    classifier = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=0)
    classifier.fit(features_x, labels)
    ids, holdout_x = _features(analytics, holdout_cutoff, horizon_days, timezone)
    truth = _labels(analytics, ids, holdout_cutoff, horizon_days, timezone)
    predicted = classifier.predict_proba(holdout_x)[:, 1]
    return ChurnReport(
        horizon_days=horizon_days,
        holdout_cutoff=holdout_cutoff,
        training_rows=len(labels),
        holdout_rows=len(truth),
        auc_model=float(roc_auc_score(truth, predicted)),
        auc_btyd=float(roc_auc_score(truth, holdout_x[:, FEATURES.index("expected_orders")])),
        brier_model=float(brier_score_loss(truth, predicted)),
        calibration=_deciles(predicted, truth),
    )


def _deciles(predicted: Array, truth: Array) -> list[tuple[float, float, int]]:
    order = np.argsort(predicted)
    return [
        (float(predicted[part].mean()), float(truth[part].mean()), len(part))
        for part in np.array_split(order, 10)
        if len(part)
    ]
