"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b, "RFM and CLV:
Using Iso-value Curves for Customer Base Analysis", JMR 42(4); Fader & Hardie 2013, "The
Gamma-Gamma Model of Monetary Value").

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across
customers. Fitted on repeat buyers' mean repeat spend; customers with no positive spend
are left out of the fit (their mean carries no information about nu) and get the
population mean when predicting.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from retain.analytics.models.bgnbd import FitError, NotFittedError

Array = npt.NDArray[np.float64]


def _log_likelihood(params: Array, x: Array, m: Array) -> float:
    p, q, gamma = params
    px = p * x
    terms = (
        special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(gamma)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(gamma + m * x)
    )  # fmt: skip
    return float(np.sum(terms))


def _gradient(params: Array, x: Array, m: Array) -> Array:
    p, q, gamma = params
    px, total = p * x, gamma + m * x
    g_p = x * (special.digamma(px + q) - special.digamma(px) + np.log(m) + np.log(x) - np.log(total))
    g_q = special.digamma(px + q) - special.digamma(q) + np.log(gamma) - np.log(total)
    g_gamma = q / gamma - (px + q) / total
    return np.array([g_p.sum(), g_q.sum(), g_gamma.sum()])


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
        if usable.sum() < 2:
            raise FitError("too few repeat buyers with a positive spend to fit the spend model")
        xs, ms = x[usable], mean_spend[usable]

        def loss(theta: Array) -> tuple[float, Array]:
            params = np.exp(theta)
            return -_log_likelihood(params, xs, ms), -_gradient(params, xs, ms) * params

        start = np.log(np.array([1.0, 1.0, float(np.mean(ms))]))
        found = optimize.minimize(
            loss, start, jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter, "gtol": self.tol}
        )
        if not found.success or not np.all(np.isfinite(found.x)):
            raise FitError(f"Gamma-Gamma did not converge: {found.message}")
        self.params_ = np.exp(found.x)
        self.log_likelihood_ = _log_likelihood(self.params_, xs, ms)
        self.n_customers_ = int(usable.sum())
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
