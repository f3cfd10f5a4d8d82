"""A supervised model of "orders again within the next N days", beside the BG/NBD ranking.

Features per customer at a cutoff day (all from orders before it): days since the last
and first order, orders, mean order value, mean days between orders, days since the last
order over that mean, and BG/NBD's P(alive), expected orders and probability of ordering
in the next N days from a
fit on the same history. Training rows come from several earlier cutoffs (time slices);
the temporal holdout is the latest cutoff whose N following days have happened. The
gradient-boosted model is used for churn only where it ranks the holdout better (AUC)
than BG/NBD's probability of ordering does; ``apply_churn_model`` makes that choice for a set of
``Scores``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import BetaGeoModel
from retain.analytics.models.numerics import FitError
from retain.analytics.models.predict import MIN_CUSTOMERS, ChurnChoice, Scores
from retain.analytics.models.summary import calibration_summary

Array = npt.NDArray[np.float64]
FEATURES = (
    "days_since_last", "days_since_first", "orders", "mean_value", "mean_gap", "overdue",
    "p_alive", "expected_orders", "p_order",
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
    roc_model: tuple[list[float], list[float]]  # (false, true positive rates) on the holdout
    roc_btyd: tuple[list[float], list[float]]  # the same for BG/NBD's P(order within N days)

    @property
    def use_model(self) -> bool:
        """Use the supervised churn probability only if it ranks the holdout better."""
        return self.auc_model > self.auc_btyd


@dataclass(frozen=True)
class ChurnScores:
    """The supervised model's churn for every customer with an order up to the as-of day."""

    report: ChurnReport  # how the model did on the holdout before the refit
    customer_id: npt.NDArray[np.int64]  # ascending
    churn_probability: Array  # 1 - P(orders again within report.horizon_days)


@dataclass(frozen=True)
class _Slice:
    """Features at one cutoff and whether each customer ordered in the N days after it."""

    features: Array
    labels: Array


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
        model.probability_of_ordering(float(horizon), summary.x, summary.t_x, summary.T),
    ]
    return summary.customer_id, np.column_stack(columns)


def _labels(
    analytics: Analytics, ids: npt.NDArray[np.int64], cutoff: date, horizon: int, timezone: str
) -> Array:
    params = {"cutoff": cutoff, "until": cutoff + timedelta(days=horizon), "zone": timezone}
    rows = analytics.connection.execute(LABELS_SQL, params).fetchnumpy()
    again = dict(zip(rows["customer_id"].tolist(), rows["again"].tolist(), strict=True))
    return np.array([again.get(int(c), False) for c in ids], dtype=np.float64)


def _slices(
    analytics: Analytics, last_day: date, horizon: int, slices: int, timezone: str
) -> tuple[list[_Slice], _Slice]:
    """The training slices (cutoffs with too little history left out) and the holdout slice."""
    holdout_cutoff = last_day - timedelta(days=horizon)
    training = []
    for k in range(1, slices + 1):
        cutoff = holdout_cutoff - timedelta(days=horizon * k)
        try:
            training.append(_labelled(analytics, cutoff, horizon, timezone))
        except FitError:
            continue  # too early: not enough history at this cutoff
    if not training:
        raise FitError("not enough history before the holdout to train the churn model")
    return training, _labelled(analytics, holdout_cutoff, horizon, timezone)


def _labelled(analytics: Analytics, cutoff: date, horizon: int, timezone: str) -> _Slice:
    ids, features = _features(analytics, cutoff, horizon, timezone)
    return _Slice(features, _labels(analytics, ids, cutoff, horizon, timezone))


def _train(slices: list[_Slice]) -> HistGradientBoostingClassifier:
    features, labels = np.vstack([s.features for s in slices]), np.concatenate([s.labels for s in slices])
    if len(set(labels.tolist())) < 2:
        raise FitError("every training customer behaved alike; nothing to learn from")
    # Shallow trees with large leaves: deeper ones fit the training slices far better than
    # the holdout (in-sample AUC 0.95 against 0.75 on the demo store).
    classifier = HistGradientBoostingClassifier(
        max_iter=100, learning_rate=0.05, max_depth=3, min_samples_leaf=50, random_state=0
    )
    return classifier.fit(features, labels)


def evaluate_churn_model(
    analytics: Analytics, last_day: date, horizon_days: int = 90, slices: int = 3, timezone: str = "UTC"
) -> ChurnReport:
    """Train on ``slices`` cutoffs before the holdout cutoff (last_day - horizon) and judge on it."""
    return _evaluate(analytics, last_day, horizon_days, slices, timezone)[0]


def _evaluate(
    analytics: Analytics, last_day: date, horizon_days: int, slices: int, timezone: str
) -> tuple[ChurnReport, list[_Slice]]:
    """The holdout report, and every labelled slice (the holdout last) for a refit."""
    training, holdout = _slices(analytics, last_day, horizon_days, slices, timezone)
    if not any(s.labels.any() for s in [*training, holdout]):
        raise FitError(
            f"nobody ordered within {horizon_days} days of any cutoff up to {last_day}; "
            "does the history reach that last day?"
        )
    classifier = _train(training)
    truth = holdout.labels
    if len(set(truth.tolist())) < 2:
        raise FitError("every holdout customer behaved alike; there is no ranking to judge")
    predicted = classifier.predict_proba(holdout.features)[:, 1]
    btyd = holdout.features[:, FEATURES.index("p_order")]
    report = ChurnReport(
        horizon_days=horizon_days,
        holdout_cutoff=last_day - timedelta(days=horizon_days),
        training_rows=sum(len(s.labels) for s in training),
        holdout_rows=len(truth),
        auc_model=float(roc_auc_score(truth, predicted)),
        auc_btyd=float(roc_auc_score(truth, btyd)),
        brier_model=float(brier_score_loss(truth, predicted)),
        calibration=_deciles(predicted, truth),
        roc_model=_roc(truth, predicted),
        roc_btyd=_roc(truth, btyd),
    )
    return report, [*training, holdout]


def _roc(truth: Array, score: Array) -> tuple[list[float], list[float]]:
    false_positive, true_positive, _ = roc_curve(truth, score)
    return [float(v) for v in false_positive], [float(v) for v in true_positive]


def _deciles(predicted: Array, truth: Array) -> list[tuple[float, float, int]]:
    order = np.argsort(predicted)
    return [
        (float(predicted[part].mean()), float(truth[part].mean()), len(part))
        for part in np.array_split(order, 10)
        if len(part)
    ]


def score_churn(
    analytics: Analytics, as_of: date, horizon_days: int = 90, slices: int = 3, timezone: str = "UTC"
) -> ChurnScores:
    """Judge the model on the latest labelled slice, refit it, and score everyone at ``as_of``.

    The refit uses the same settings on every slice, the holdout included, rather than
    reusing the judged model: the holdout judges the recipe, and the refit learns from the
    most recent behaviour, ``horizon_days`` newer than anything the judged model saw.
    """
    report, labelled = _evaluate(analytics, as_of, horizon_days, slices, timezone)
    ids, churn = _refit_and_score(labelled, analytics, as_of, horizon_days, timezone)
    return ChurnScores(report, ids, churn)


def _refit_and_score(
    labelled: list[_Slice], analytics: Analytics, as_of: date, horizon_days: int, timezone: str
) -> tuple[npt.NDArray[np.int64], Array]:
    ids, features = _features(analytics, as_of, horizon_days, timezone)
    return ids, 1 - _train(labelled).predict_proba(features)[:, 1]


def churn_choice(report: ChurnReport) -> ChurnChoice:
    """Which churn probability to use, from the holdout AUCs, with the reason in words."""
    aucs = f"holdout AUC {report.auc_model:.3f} against BG/NBD's {report.auc_btyd:.3f}"
    if report.use_model:
        reason = f"the supervised model ranks the holdout better ({aucs})"
    else:
        reason = f"the supervised model does not rank the holdout better ({aucs})"
    return ChurnChoice(
        source="supervised" if report.use_model else "bgnbd",
        reason=reason,
        auc_model=report.auc_model,
        auc_btyd=report.auc_btyd,
        horizon_days=report.horizon_days,
    )


def apply_churn_model(
    scores: Scores, analytics: Analytics, horizon_days: int = 90, slices: int = 3, timezone: str = "UTC"
) -> Scores:
    """``scores`` with churn from the supervised model where it beats BG/NBD on the holdout.

    The churn probability then becomes 1 - P(orders again within ``horizon_days``), a
    different quantity from 1 - P(alive): it also counts customers who are alive but slow.
    The model is refitted and applied as in ``score_churn``, and only when it won, since
    the refit costs as much again. Too little history keeps BG/NBD, with the reason
    recorded. ``timezone`` must be the one the scores were made with.
    """
    try:
        report, labelled = _evaluate(analytics, scores.as_of, horizon_days, slices, timezone)
    except FitError as exc:
        reason = f"the supervised model could not be judged: {exc}"
        return replace(scores, churn_choice=ChurnChoice(reason=reason, horizon_days=horizon_days))
    choice = churn_choice(report)
    if choice.source == "bgnbd":
        return replace(scores, churn_choice=choice)
    ids, churn = _refit_and_score(labelled, analytics, scores.as_of, horizon_days, timezone)
    position = np.searchsorted(ids, scores.customer_id)
    if not np.array_equal(ids[np.minimum(position, len(ids) - 1)], scores.customer_id):
        raise ValueError("the scores and the churn features cover different customers; same time zone?")
    return replace(scores, churn_probability=churn[position], churn_choice=choice)
