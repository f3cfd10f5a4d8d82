"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b, "RFM and CLV:
Using Iso-value Curves for Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The
Gamma-Gamma Model of Monetary Value").

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across
customers. Fitted on repeat buyers' mean repeat spend; customers with no positive spend
are left out of the fit (their mean carries no information about nu) and get the
population mean when predicting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from retain.analytics.models.grouping import count_rows
from retain.analytics.models.numerics import FitError, NotFittedError, maximise

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Spend:
    """Repeat buyers' (x, mean spend), with what does not depend on the parameters computed
    once: the gamma-function terms depend on x alone, so they are taken per distinct x, and
    the sums of x log m and log m are taken before the search.

    Only log(gamma + x m) must be computed customer by customer in each evaluation; its sum,
    and those of x log(gamma + x m), 1 / (gamma + x m) and x / (gamma + x m), are all the
    likelihood and its gradient need of it, so an evaluation is a few passes over the rows.
    """

    x: Array
    mx: Array  # x * mean spend: total repeat spend
    xs: Array  # distinct x
    x_count: Array  # customers per distinct x
    log_xs: Array
    sum_log_m: float
    sum_x_log_m: float
    total: Array  # scratch rows for gamma + x m and its log, reused by every evaluation
    inverse: Array  # scratch rows for 1 / (gamma + x m)

    @classmethod
    def of(cls, x: Array, m: Array) -> _Spend:
        by_x = count_rows(x)
        log_m = np.log(m)
        xs = by_x.columns[0]
        total, inverse = np.empty_like(x), np.empty_like(x)
        # (x * log m).sum(), not x @ log m: a long dot product here, outside the search,
        # would run on BLAS's threads (see numerics.one_blas_thread).
        sum_x_log_m = float((x * log_m).sum())
        return cls(x, x * m, xs, by_x.counts, np.log(xs), float(log_m.sum()), sum_x_log_m, total, inverse)


def _value_and_gradient(params: Array, d: _Spend) -> tuple[float, Array]:
    """The log-likelihood and its gradient with respect to (p, q, gamma), sharing the work."""
    p, q, gamma = params
    px = p * d.xs
    shared = special.digamma(px + q)
    total = np.add(d.mx, gamma, out=d.total)
    inverse = np.reciprocal(total, out=d.inverse)
    log_total = np.log(total, out=total)
    sum_log, sum_x_log = log_total.sum(), d.x @ log_total
    sum_inverse, sum_x_inverse = inverse.sum(), d.x @ inverse
    per_x = (
        special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(gamma) + px * d.log_xs
    )
    value = d.x_count @ per_x + p * d.sum_x_log_m - d.sum_log_m - (p * sum_x_log + q * sum_log)
    n = d.x_count.sum()
    g_p = d.x_count @ (d.xs * (shared - special.digamma(px) + d.log_xs)) + d.sum_x_log_m - sum_x_log
    g_q = d.x_count @ (shared - special.digamma(q)) + n * np.log(gamma) - sum_log
    g_gamma = n * q / gamma - (p * sum_x_inverse + q * sum_inverse)
    return float(value), np.array([g_p, g_q, g_gamma])


class GammaGammaModel:
    """``fit(x, mean_spend)`` learns ``params_`` = (p, q, gamma)."""

    PARAMS = ("p", "q", "gamma")

    def __init__(self, tol: float = 1e-10, max_iter: int = 1000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, x: Array, mean_spend: Array) -> GammaGammaModel:
        x, mean_spend = np.asarray(x, dtype=np.float64), np.asarray(mean_spend, dtype=np.float64)
        if x.shape != mean_spend.shape:
            raise ValueError("x and mean_spend must have the same length")
        usable = (x > 0) & (mean_spend > 0)
        count = int(np.count_nonzero(usable))
        if count < 2:
            raise FitError("too few repeat buyers with a positive spend to fit the spend model")
        spend = mean_spend[usable]
        data = _Spend.of(x[usable], spend)

        start = np.array([1.0, 1.0, float(np.mean(spend))])
        self.params_, self.log_likelihood_ = maximise(
            lambda params: _value_and_gradient(params, data), start, "Gamma-Gamma", self.tol, self.max_iter
        )
        self.n_customers_ = count
        return self

    def conditional_expected_spend(self, x: Array, mean_spend: Array) -> Array:
        """Expected value of each customer's future transactions (Fader & Hardie 2013, eq. 5)."""
        if not hasattr(self, "params_"):
            raise NotFittedError("fit the model before using it")
        p, q, gamma = self.params_
        x, mean_spend = np.asarray(x, dtype=np.float64), np.asarray(mean_spend, dtype=np.float64)
        population = p * gamma / (q - 1)
        weight = p * x / (p * x + q - 1)
        known = (x > 0) & (mean_spend > 0)
        return np.asarray(np.where(known, (1 - weight) * population + weight * mean_spend, population))
