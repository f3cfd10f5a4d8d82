"""Per-customer predictions from BG/NBD (orders) and Gamma-Gamma (spend).

For every customer with an order up to the as-of day, in days:

- ``p_alive`` (BG/NBD) and ``churn_probability``: the chance of no order in the next
  ``churn_horizon_days`` (90 by default), 1 - P(alive) * (1 - ((alpha+T)/(alpha+T+N))^(r+x)).
  Unlike 1 - P(alive), it also counts the alive but slow, and it is the quantity the
  supervised model in ``retain.analytics.models.churn`` predicts; that model replaces it
  afterwards where it ranks a holdout better (``churn_choice`` says which and why).
- ``predicted_orders``: expected orders in the horizon (FHL 2005, eq. 10).
- ``expected_next_order``: for a customer still more likely alive than not, the as-of day
  plus their expected wait under the posterior purchase rate, (alpha + T) / (r + x - 1)
  days (the rate's posterior is Gamma(r + x, alpha + T)); otherwise none.
- ``average_order_value`` and ``historic_clv``: from the orders themselves (net revenue).
- ``predicted_clv``: expected orders in each month of the horizon x expected spend per
  order (Gamma-Gamma) x gross margin, discounted monthly at the yearly discount rate.
- ``total_clv = historic_clv + predicted_clv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np
import numpy.typing as npt

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import BetaGeoModel
from retain.analytics.models.gamma_gamma import GammaGammaModel
from retain.analytics.models.grouping import Groups, group_rows
from retain.analytics.models.numerics import FitError
from retain.analytics.models.summary import Summary, calibration_summary
from retain.domain.money import exponent

Array = npt.NDArray[np.float64]
MODEL = "bgnbd+gamma-gamma"
MIN_CUSTOMERS = 200  # fewer give estimates too loose to act on
MODEL_VERSION = 1
DAYS_PER_MONTH = 365.25 / 12
SUPERVISED_CHURN_MODEL = "churn-hgb"  # appended to MODEL when the supervised churn is used

ChurnSource = Literal["bgnbd", "supervised"]


@dataclass(frozen=True)
class ChurnChoice:
    """Where ``churn_probability`` came from and why, so the choice can be shown and audited.

    The AUCs are on the churn model's temporal holdout (None when it was not evaluated);
    ``horizon_days`` is the supervised model's N in "orders again within N days".
    """

    source: ChurnSource = "bgnbd"
    reason: str = "the supervised churn model was not tried"
    auc_model: float | None = None
    auc_btyd: float | None = None
    horizon_days: int | None = None


@dataclass(frozen=True)
class Scores:
    as_of: date
    horizon_days: int
    currency: str
    customer_id: npt.NDArray[np.int64]
    p_alive: Array
    churn_probability: Array  # 1 - P(orders within N days), from BG/NBD or the supervised model
    predicted_orders: Array
    expected_next_order: npt.NDArray[np.datetime64]  # days; NaT where none is expected
    average_order_value: Array  # minor units
    average_days_between_orders: Array  # NaN for one-time buyers
    historic_clv: Array  # minor units
    predicted_clv: Array  # minor units
    churn_choice: ChurnChoice = field(default_factory=ChurnChoice)

    @property
    def model(self) -> str:
        """The stored model name: it says whether churn came from the supervised model."""
        if self.churn_choice.source == "supervised":
            return f"{MODEL}+{SUPERVISED_CHURN_MODEL}"
        return MODEL

    @property
    def total_clv(self) -> Array:
        return self.historic_clv + self.predicted_clv


def score_customers(
    analytics: Analytics,
    as_of: date,
    horizon_days: int = 365,
    yearly_discount_rate: float = 0.1,
    gross_margin: float | None = None,
    timezone: str = "UTC",
    churn_horizon_days: int = 90,
) -> Scores:
    """Fit on every order up to ``as_of`` (included) and score each customer."""
    currency = analytics.currency()
    summary = calibration_summary(analytics, as_of, "day", timezone)
    if len(summary) < MIN_CUSTOMERS:
        raise FitError(
            f"only {len(summary)} customers ordered by {as_of}; predictions need at least {MIN_CUSTOMERS}"
        )
    scale = 10 ** exponent(currency)
    orders_model = BetaGeoModel().fit(summary.x, summary.t_x, summary.T)
    spend_model = GammaGammaModel().fit(summary.x, summary.mean_repeat_spend / scale)
    return score(
        summary,
        orders_model,
        spend_model,
        as_of,
        currency,
        horizon_days,
        yearly_discount_rate,
        gross_margin,
        churn_horizon_days,
    )


def score(
    summary: Summary,
    orders_model: BetaGeoModel,
    spend_model: GammaGammaModel,
    as_of: date,
    currency: str,
    horizon_days: int = 365,
    yearly_discount_rate: float = 0.1,
    gross_margin: float | None = None,
    churn_horizon_days: int = 90,
) -> Scores:
    """Every customer of ``summary`` (in days, up to ``as_of``) scored with fitted models."""
    scale = 10 ** exponent(currency)
    spend_per_order = summary.mean_repeat_spend / scale
    x, t_x, T = summary.x, summary.t_x, summary.T
    alive = orders_model.p_alive(x, t_x, T)
    pairs = group_rows(x, T)  # what the expectations depend on, besides P(alive)
    r, alpha, _, _ = orders_model.params_
    revenue = summary.revenue.astype(np.float64)
    spend = spend_model.conditional_expected_spend(x, spend_per_order) * scale
    wait = np.round((alpha + T) / np.maximum(r + x - 1, 1e-9))
    expected = (alive >= 0.5) & (r + x > 1) & (wait < 1e6)
    next_order = np.full(x.shape, np.datetime64("NaT"), dtype="datetime64[D]")
    next_order[expected] = np.datetime64(as_of, "D") + wait[expected].astype("timedelta64[D]")
    silent = orders_model.silent_if_alive(churn_horizon_days, *pairs.columns)[pairs.inverse]
    return Scores(
        as_of=as_of,
        horizon_days=horizon_days,
        currency=currency,
        customer_id=summary.customer_id,
        p_alive=alive,
        churn_probability=1 - alive * (1 - silent),
        predicted_orders=orders_model.expected_if_alive(horizon_days, *pairs.columns)[pairs.inverse] * alive,
        expected_next_order=next_order,
        average_order_value=revenue / summary.orders,
        average_days_between_orders=np.where(x > 0, t_x / np.maximum(x, 1), np.nan),
        historic_clv=revenue,
        predicted_clv=_discounted_orders(orders_model, pairs, horizon_days, yearly_discount_rate)[
            pairs.inverse
        ]
        * alive
        * spend
        * (gross_margin if gross_margin is not None else 1.0),
    )


def _discounted_orders(model: BetaGeoModel, pairs: Groups, horizon_days: int, rate: float) -> Array:
    """For each distinct (x, T) alive today: expected orders per month of the horizon, each
    month discounted to today at the yearly ``rate``."""
    x, T = pairs.columns
    months = max(1, round(horizon_days / DAYS_PER_MONTH))
    ends = np.minimum(np.arange(1, months + 1) * DAYS_PER_MONTH, float(horizon_days))
    # Several months' cumulative expectations per call, over (month, pair): one call for a
    # year of a store's pairs, in blocks of months so the arrays stay small for any store.
    block = max(1, 2**20 // max(x.size, 1))
    value = np.zeros_like(x)
    previous = np.zeros_like(x)
    for first in range(0, months, block):
        cumulative = model.expected_if_alive(ends[first : first + block, np.newaxis], x, T)
        for month, month_end in enumerate(cumulative, start=first + 1):
            value += (month_end - previous) / (1 + rate) ** (month / 12)
            previous = month_end
    return value
