"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the likelihood as
written in Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
Expressions".

Transactions are Poisson with rate lambda ~ Gamma(r, alpha) while alive; lifetimes are
exponential with rate mu ~ Gamma(s, beta). The likelihood's hypergeometric terms are taken
in Euler's form and in log space, so large purchase counts do not overflow them.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

from retain.analytics.models.bgnbd import FitError, NotFittedError, _check, _unique

Array = npt.NDArray[np.float64]


def _log_a0_part(r: float, alpha: float, s: float, beta: float, x: Array, t: Array) -> Array:
    """log of 2F1(...) / (max(alpha, beta) + t)^(r+s+x), choosing the convergent form.

    Both 2F1s are taken in Euler's form, whose first parameter is 1 and whose power of
    (1 - z) joins the other powers in log space: the textbook form overflows for large x.
    """
    k = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + t)
        # 2F1(k, s+1; k+1; z) = (1-z)^(-s) 2F1(1, r+x; k+1; z), 1 - z = (beta+t)/(alpha+t)
        hyp = special.hyp2f1(1.0, r + x, k + 1, z)
        return np.asarray(np.log(hyp) - s * np.log((beta + t) / (alpha + t)) - k * np.log(alpha + t))
    z = (beta - alpha) / (beta + t)
    # 2F1(k, r+x; k+1; z) = (1-z)^(1-r-x) 2F1(1, s+1; k+1; z), 1 - z = (alpha+t)/(beta+t)
    hyp = special.hyp2f1(1.0, s + 1, k + 1, z)
    return np.asarray(np.log(hyp) + (1 - r - x) * np.log((alpha + t) / (beta + t)) - k * np.log(beta + t))


def _parts(params: Array, x: Array, t_x: Array, T: Array) -> tuple[Array, Array, Array]:
    """(shared head, alive at T, died between t_x and T) of each log-likelihood."""
    r, alpha, s, beta = params
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    first, second = _log_a0_part(r, alpha, s, beta, x, t_x), _log_a0_part(r, alpha, s, beta, x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        # A0 = e^first - e^second >= 0; log(e^f - e^g) = f + log(-expm1(g - f)).
        log_a0 = first + np.log(-np.expm1(second - first))
    died = np.log(s) - np.log(r + s + x) + log_a0
    return head, alive, np.where(np.isfinite(died), died, -np.inf)


def _log_likelihoods(params: Array, x: Array, t_x: Array, T: Array) -> Array:
    head, alive, died = _parts(params, x, t_x, T)
    return np.asarray(head + np.logaddexp(alive, died))


class ParetoNBDModel:
    """Pareto/NBD: ``fit(x, t_x, T)`` learns ``params_`` = (r, alpha, s, beta)."""

    PARAMS = ("r", "alpha", "s", "beta")

    def __init__(self, tol: float = 1e-10, max_iter: int = 5000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, x: Array, t_x: Array, T: Array) -> Self:
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        _check(x, t_x, T)
        data = _unique(x, t_x, T)

        def loss(theta: Array) -> float:
            value = -float(np.sum(data.weight * _log_likelihoods(np.exp(theta), data.x, data.t_x, data.T)))
            return value if np.isfinite(value) else 1e300

        start = np.log(np.array([1.0, max(float(np.mean(T)), 1e-3), 1.0, max(float(np.mean(T)), 1e-3)]))
        # The likelihood's derivative runs through 2F1's parameters; a simplex search avoids it.
        found = optimize.minimize(
            loss,
            start,
            method="Nelder-Mead",
            options={"maxiter": self.max_iter, "xatol": 1e-8, "fatol": self.tol},
        )
        if not found.success or not np.all(np.isfinite(found.x)):
            raise FitError(f"Pareto/NBD did not converge: {found.message}")
        self.params_ = np.exp(found.x)
        self.log_likelihood_ = -float(found.fun)
        self.n_customers_ = int(x.size)
        return self

    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        """Probability each customer is alive at T: the likelihood's "alive" share."""
        if not hasattr(self, "params_"):
            raise NotFittedError("fit the model before using it")
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        _, alive, died = _parts(self.params_, x, t_x, T)
        return np.asarray(np.exp(alive - np.logaddexp(alive, died)))
