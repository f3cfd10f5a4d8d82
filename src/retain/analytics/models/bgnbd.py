"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting Your Customers
the Easy Way", Marketing Science 24(2)), and its MBG/NBD variant (Batislam, Denizel &
Filiztekin 2007, "Empirical validation and comparison of models for customer base
analysis", IJRM 24(3)).

Transactions follow a Poisson process with rate lambda ~ Gamma(r, alpha) while a customer
is alive; after each transaction they drop out with probability p ~ Beta(a, b). MBG/NBD
also lets them drop out at time zero, right after the first purchase, so a one-time buyer
is not certainly alive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt
from scipy import optimize, special

Array = npt.NDArray[np.float64]


class NotFittedError(RuntimeError):
    """The model was used before ``fit``."""


class FitError(RuntimeError):
    """The likelihood could not be maximised; the message says why."""


@dataclass(frozen=True, slots=True)
class _Data:
    x: Array
    t_x: Array
    T: Array
    weight: Array


def _unique(x: Array, t_x: Array, T: Array) -> _Data:
    """Customers sharing (x, t_x, T) contribute identically: fit each combination once."""
    stacked = np.stack([x, t_x, T], axis=1)
    combos, counts = np.unique(stacked, axis=0, return_counts=True)
    return _Data(combos[:, 0], combos[:, 1], combos[:, 2], counts.astype(np.float64))


def _terms(params: Array, d: _Data, shift: int) -> tuple[Array, Array, Array, Array]:
    """The log-likelihood's pieces: A1 + A2 + log(e^A3 + e^A4).

    BG/NBD (``shift`` 0, FHL 2005 eq. 6): A4 only for repeat buyers. MBG/NBD (``shift`` 1,
    Batislam et al. 2007): the Beta terms move up by one and A4 applies to everyone.
    """
    r, alpha, a, b = params
    x = d.x + shift
    a1 = special.gammaln(r + d.x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + d.x) * np.log(alpha + d.T)
    counts = (d.x > 0) | (shift == 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(counts, np.log(a) - np.log(b + x - 1) - (r + d.x) * np.log(alpha + d.t_x), -np.inf)
    return a1, a2, a3, a4


def _log_likelihood(params: Array, d: _Data, shift: int = 0) -> float:
    a1, a2, a3, a4 = _terms(params, d, shift)
    return float(np.sum(d.weight * (a1 + a2 + np.logaddexp(a3, a4))))


def _gradient(params: Array, d: _Data, shift: int = 0) -> Array:
    """Analytic gradient of the log-likelihood with respect to (r, alpha, a, b)."""
    r, alpha, a, b = params
    _, _, a3, a4 = _terms(params, d, shift)
    total = np.logaddexp(a3, a4)
    w3, w4 = np.exp(a3 - total), np.exp(a4 - total)  # w4 is 0 where A4 does not apply
    x, w = d.x + shift, d.weight
    repeat_b = np.where(w4 > 0, b + x - 1, 1.0)
    g_r = (
        special.digamma(r + d.x)
        - special.digamma(r)
        + np.log(alpha)
        - w3 * np.log(alpha + d.T)
        - w4 * np.log(alpha + d.t_x)
    )
    g_alpha = r / alpha - w3 * (r + d.x) / (alpha + d.T) - w4 * (r + d.x) / (alpha + d.t_x)
    g_a = special.digamma(a + b) - special.digamma(a + b + x) + w4 / a
    g_b = (
        special.digamma(a + b)
        + special.digamma(b + x)
        - special.digamma(b)
        - special.digamma(a + b + x)
        - w4 / repeat_b
    )
    return np.array([np.sum(w * g) for g in (g_r, g_alpha, g_a, g_b)])


class _BetaGeoFamily:
    """Fitting and P(alive), shared by BG/NBD and MBG/NBD; ``SHIFT`` tells them apart."""

    PARAMS = ("r", "alpha", "a", "b")
    SHIFT = 0
    NAME = "BG/NBD"

    def __init__(self, tol: float = 1e-10, max_iter: int = 1000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, x: Array, t_x: Array, T: Array) -> Self:
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        _check(x, t_x, T)
        data = _unique(x, t_x, T)
        shift = self.SHIFT

        def loss(theta: Array) -> tuple[float, Array]:
            # Searched in log space so every parameter stays positive.
            params = np.exp(theta)
            return -_log_likelihood(params, data, shift), -_gradient(params, data, shift) * params

        start = np.log(np.array([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0]))
        found = optimize.minimize(
            loss, start, jac=True, method="L-BFGS-B", options={"maxiter": self.max_iter, "gtol": self.tol}
        )
        if not found.success or not np.all(np.isfinite(found.x)):
            raise FitError(f"{self.NAME} did not converge: {found.message}")
        self.params_ = np.exp(found.x)
        self.log_likelihood_ = _log_likelihood(self.params_, data, shift)
        self.standard_errors_ = _standard_errors(self.params_, data, shift)
        self.n_customers_ = int(x.size)
        return self

    def _fitted(self) -> Array:
        if not hasattr(self, "params_"):
            raise NotFittedError("fit the model before using it")
        params: Array = self.params_
        return params

    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        """Probability each customer is still alive at T: the likelihood's "alive" share."""
        params = self._fitted()
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        data = _Data(x, t_x, T, np.ones_like(x))
        _, _, a3, a4 = _terms(params, data, self.SHIFT)
        return np.asarray(np.exp(a3 - np.logaddexp(a3, a4)))

    def conditional_expected_transactions(self, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
        """Expected transactions in the next ``t`` units for customers (x, t_x, T) (FHL 2005, eq. 10).

        A customer alive at T has survived x (BG/NBD) or x + 1 (MBG/NBD) drop-out chances,
        so their p is Beta(a, b + x + shift) and their rate Gamma(r + x, alpha + T); the
        result is BG/NBD's expectation for such a customer, times P(alive).
        """
        r, alpha, a, b = self._fitted()
        b = b + self.SHIFT
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        t = np.asarray(t, dtype=np.float64)
        z = t / (alpha + T + t)
        # ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; z) equals, by Euler's
        # transformation, (1-z)^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z). scipy's 2F1 fails in
        # different places for each (overflow for many purchases in a short span, NaN for
        # large b with z near 1), so the finite one is taken.
        with np.errstate(over="ignore", invalid="ignore"):
            euler = (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
            textbook = (1 - z) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        tail = np.where(np.isfinite(euler), euler, textbook)
        lost = ~np.isfinite(tail)
        if np.any(lost):  # both failed: sum the series ourselves, in log space
            shape = np.broadcast_shapes(np.shape(tail), np.shape(x), np.shape(z))
            zs, xs = np.broadcast_to(z, shape)[lost], np.broadcast_to(x, shape)[lost]
            log_sum = log_hyp2f1_series(a + b - 1 - r, a - 1, a + b + xs - 1, zs)
            tail = np.array(np.broadcast_to(tail, shape))
            tail[lost] = np.exp((a - 1) * np.log1p(-zs) + log_sum)
        head = (a + b + x - 1) / (a - 1) * (1 - tail)
        return np.asarray(head * self.p_alive(x, t_x, T))

    def expected_transactions(self, t: float | Array) -> Array:
        """Expected transactions of a new customer in ``t`` units (FHL 2005, eq. 7).

        Under MBG/NBD the customer first survives the drop-out chance at time zero, with
        probability b / (a + b), and then behaves as a BG/NBD customer with Beta(a, b + 1).
        """
        r, alpha, a, b = self._fitted()
        t = np.asarray(t, dtype=np.float64)
        z = t / (alpha + t)
        survive, b = (b / (a + b), b + 1) if self.SHIFT else (1.0, b)
        bg = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
        return np.asarray(survive * bg)


class BetaGeoModel(_BetaGeoFamily):
    """BG/NBD: ``fit(x, t_x, T)`` learns ``params_`` = (r, alpha, a, b)."""


class ModifiedBetaGeoModel(_BetaGeoFamily):
    """MBG/NBD (Batislam et al. 2007): BG/NBD with a chance of dropping out at time zero."""

    SHIFT = 1
    NAME = "MBG/NBD"


def log_hyp2f1_series(a: float, b: float, c: Array, z: Array, max_terms: int = 200_000) -> Array:
    """log 2F1(a, b; c; z) by its power series, for a, b, c > 0 and 0 <= z < 1.

    Every term is positive, so summing the log terms with log-add-exp is stable however
    large the terms grow before they shrink. Slow near z = 1: kept for the cases scipy's
    2F1 cannot evaluate.
    """
    log_z = np.log(np.maximum(z, 1e-300))
    term = np.zeros_like(z)  # log of the n-th term
    total = np.zeros_like(z)
    active = z > 0
    for n in range(max_terms):
        if not np.any(active):
            break
        term = np.where(
            active, term + np.log(a + n) + np.log(b + n) - np.log(c + n) - np.log(n + 1) + log_z, term
        )
        total = np.where(active, np.logaddexp(total, term), total)
        # Stop once a term is negligible and past its peak (the ratio of terms has dropped below 1).
        ratio = np.log(a + n + 1) + np.log(b + n + 1) - np.log(c + n + 1) - np.log(n + 2) + log_z
        active &= ~((term < total - 40) & (ratio < 0))
    return total


def _check(x: Array, t_x: Array, T: Array) -> None:
    if not (x.shape == t_x.shape == T.shape):
        raise ValueError("x, t_x and T must have the same length")
    if x.size == 0:
        raise ValueError("no customers to fit")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ValueError("expected 0 <= t_x <= T and x >= 0 for every customer")
    if not np.any(x > 0):
        raise FitError("nobody bought twice: repeat buying cannot be estimated")


def _standard_errors(params: Array, data: _Data, shift: int) -> Array:
    """Square roots of the inverse observed information, by differencing the analytic gradient."""
    steps = 1e-5 * np.maximum(params, 1e-3)
    hessian = np.empty((4, 4))
    for i in range(4):
        up, down = params.copy(), params.copy()
        up[i] += steps[i]
        down[i] -= steps[i]
        hessian[i] = (_gradient(up, data, shift) - _gradient(down, data, shift)) / (2 * steps[i])
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(4, np.nan)
    return np.sqrt(np.maximum(np.diag(covariance), 0))
