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
from scipy import special

from retain.analytics.models.grouping import Codes, count_rows, group_rows, whole_numbers
from retain.analytics.models.numerics import FitError, NotFittedError, maximise, standard_errors

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class _Data:
    """Distinct (x, t_x, T) combinations with their counts, and the distinct values of x
    and of the times inside them, so each term is computed once per value it depends on."""

    x: Array
    t_x: Array
    T: Array
    weight: Array
    xs: Array  # distinct x
    x_of: Codes  # each combination's index into xs
    x_weight: Array  # customers per distinct x
    times: Array  # distinct values among t_x and T
    t_x_of: Codes
    T_of: Codes
    weight_at_T: Array  # customers whose T is each distinct time
    weight_x_at_T: Array  # and the sum of their x
    x_starts: Codes | None  # where each x's rows start, when the rows are in order of x
    scratch: Array  # working rows for one evaluation of the likelihood at a time


def _unique(x: Array, t_x: Array, T: Array, weight: Array | None = None) -> _Data:
    """Customers sharing (x, t_x, T) contribute identically: fit each combination once.

    With ``weight`` given, the rows are taken as they are, each with its weight.
    """
    if weight is None:
        combos = count_rows(x, t_x, T)
        (x, t_x, T), weight = combos.columns, combos.counts
    by_x = group_rows(x)
    by_time = group_rows(np.concatenate([t_x, T]))
    n = x.size
    # Counted combinations come in ascending order of x: a sum per x is then the sum of a
    # run of rows, many times faster than a weighted bincount.
    in_order = bool(np.all(by_x.inverse[1:] >= by_x.inverse[:-1]))
    return _Data(
        x, t_x, T, weight,
        xs=by_x.columns[0], x_of=by_x.inverse,
        x_weight=np.bincount(by_x.inverse, weights=weight, minlength=by_x.counts.size).astype(np.float64),
        times=by_time.columns[0], t_x_of=by_time.inverse[:n], T_of=by_time.inverse[n:],
        weight_at_T=np.bincount(by_time.inverse[n:], weight, by_time.counts.size).astype(np.float64),
        weight_x_at_T=np.bincount(by_time.inverse[n:], weight * x, by_time.counts.size).astype(np.float64),
        x_starts=np.searchsorted(by_x.inverse, np.arange(by_x.counts.size)) if in_order else None,
        scratch=np.empty((5, n)),
    )  # fmt: skip


def _gradient(params: Array, d: _Data, shift: int = 0) -> Array:
    """Analytic gradient of the log-likelihood with respect to (r, alpha, a, b)."""
    return _value_and_gradient(params, d, shift)[1]


def _value_and_gradient(params: Array, d: _Data, shift: int = 0) -> tuple[float, Array]:
    """The log-likelihood and its gradient, sharing the work.

    Per combination, log(e^A3 + e^A4) = A3 + softplus(A4 - A3), and A3 = -(r + x) log(alpha
    + T) sums over the distinct T with weights fixed before the search; so only the
    difference A4 - A3 is computed row by row, in place in ``d.scratch`` (a fresh array per
    step would cost as much in page faults as the arithmetic).
    """
    r, alpha, a, b = params
    xs = d.xs + shift
    log_times, inverse_times = np.log(alpha + d.times), 1 / (alpha + d.times)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where((d.xs > 0) | (shift == 1), np.log(a) - np.log(b + xs - 1), -np.inf)
    silence, diff, small, rx, work = d.scratch
    # silence = log((alpha + T) / (alpha + t_x)) >= 0
    np.subtract(_gather(log_times, d.T_of, silence), _gather(log_times, d.t_x_of, work), out=silence)
    np.add(d.x, r, out=rx)
    np.add(_gather(tail, d.x_of, diff), np.multiply(rx, silence, out=work), out=diff)  # A4 - A3
    np.exp(np.negative(np.abs(diff, out=small), out=small), out=small)
    # softplus(diff) = max(diff, 0) + log1p(small), summed with the weights
    softplus = d.weight @ np.maximum(diff, 0, out=work) + d.weight @ np.log1p(small, out=work)
    # The "dropped out at t_x" share, e^min(diff, 0) / (1 + small), times the weights.
    np.exp(np.minimum(diff, 0, out=diff), out=diff)
    dropped = np.multiply(d.weight, np.divide(diff, np.add(small, 1, out=small), out=diff), out=diff)
    if d.x_starts is None:
        dropped_x = np.bincount(d.x_of, dropped, d.xs.size)
    else:
        dropped_x = np.add.reduceat(dropped, d.x_starts)
    n = d.x_weight
    head = (
        special.gammaln(r + d.xs) - special.gammaln(r) + r * np.log(alpha)
        + special.gammaln(a + b) + special.gammaln(b + xs) - special.gammaln(b) - special.gammaln(a + b + xs)
    )  # fmt: skip
    a3 = -(r * d.weight_at_T + d.weight_x_at_T) @ log_times
    value = n @ head + a3 + softplus
    ab = special.digamma(a + b) - special.digamma(a + b + xs)
    # shortfall = 1/(alpha + t_x) - 1/(alpha + T)
    shortfall = np.subtract(
        _gather(inverse_times, d.t_x_of, small), _gather(inverse_times, d.T_of, work), out=small
    )
    g_r = n @ (special.digamma(r + d.xs) - special.digamma(r) + np.log(alpha))
    g_r += -d.weight_at_T @ log_times + dropped @ silence
    g_alpha = n.sum() * r / alpha - (r * d.weight_at_T + d.weight_x_at_T) @ inverse_times
    g_alpha -= np.multiply(dropped, rx, out=rx) @ shortfall
    g_a = n @ ab + dropped_x.sum() / a
    g_b = n @ (ab + special.digamma(b + xs) - special.digamma(b)) - dropped_x @ (
        1 / np.where(dropped_x > 0, b + xs - 1, 1.0)
    )
    return float(value), np.array([g_r, g_alpha, g_a, g_b])


def _gather(table: Array, codes: Codes, out: Array) -> Array:
    """``table[codes]`` into ``out``; the codes are known to be in range, so unchecked."""
    return np.take(table, codes, out=out, mode="clip")


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
        start = np.array([1.0, max(float(np.mean(T)), 1e-3), 1.0, 1.0])
        self.params_, self.log_likelihood_ = maximise(
            lambda params: _value_and_gradient(params, data, shift), start, self.NAME, self.tol, self.max_iter
        )
        self.n_customers_ = int(x.size)
        self._data = data
        self.n_customers_ = int(x.size)
        return self

    @property
    def standard_errors_(self) -> Array:
        """Standard errors of (r, alpha, a, b), from the observed information at the optimum.

        Computed on first use: scoring customers does not need them.
        """
        self._fitted()
        if not hasattr(self, "_errors"):
            data, shift = self._data, self.SHIFT
            self._errors = standard_errors(lambda params: _gradient(params, data, shift), self.params_)
        return self._errors

    def _fitted(self) -> Array:
        if not hasattr(self, "params_"):
            raise NotFittedError("fit the model before using it")
        params: Array = self.params_
        return params

    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        """Probability each customer is still alive at T: the likelihood's "alive" share."""
        r, alpha, _, _ = self._fitted()
        x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, t_x, T)))
        # 1 / (1 + e^(A4 - A3)), customer by customer: the shared A1 + A2 cancel. In place,
        # and 1 / (1 + e^d) rather than scipy's expit, which is several times slower.
        diff = np.log(alpha + T) - np.log(alpha + t_x)
        diff *= r + x
        diff += self._tail(x)
        with np.errstate(over="ignore"):
            return np.asarray(1 / (1 + np.exp(diff)))

    def _tail(self, x: Array) -> Array:
        """log(a / (b + x + shift - 1)) for a customer who has survived a drop-out chance, -inf
        for one who has not: the part of A4 - A3 that depends on x alone, so computed once
        per value of x when the values are whole numbers (a where over every row is slow)."""
        _, _, a, b = self._fitted()
        coded = whole_numbers(x.ravel()) if x.ndim else None
        shifted = (coded[1] if coded is not None else x) + self.SHIFT
        with np.errstate(divide="ignore", invalid="ignore"):
            tail = np.where(shifted > 0, np.log(a) - np.log(b + shifted - 1), -np.inf)
        if coded is None:
            return tail
        return np.take(tail, coded[0], mode="clip").reshape(x.shape)

    def conditional_expected_transactions(self, t: float | Array, x: Array, t_x: Array, T: Array) -> Array:
        """Expected transactions in the next ``t`` units for customers (x, t_x, T) (FHL 2005, eq. 10)."""
        return np.asarray(self.expected_if_alive(t, x, T) * self.p_alive(x, t_x, T))

    def probability_of_ordering(self, t: float, x: Array, t_x: Array, T: Array) -> Array:
        """Probability each customer orders at least once in the next ``t`` units.

        Only a customer alive at T can; they drop out only right after a purchase, so an
        alive one orders unless a Poisson rate drawn from Gamma(r + x, alpha + T) gives
        nothing in t: P = P(alive) * (1 - ((alpha + T) / (alpha + T + t))^(r + x)).
        """
        return np.asarray(self.p_alive(x, t_x, T) * (1 - self.silent_if_alive(t, x, T)))

    def silent_if_alive(self, t: float, x: Array, T: Array) -> Array:
        """Probability that customers (x, T), alive at T, make no purchase in the next ``t``."""
        r, alpha, _, _ = self._fitted()
        x, T = (np.asarray(v, dtype=np.float64) for v in (x, T))
        return np.asarray(np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))))

    def expected_if_alive(self, t: float | Array, x: Array, T: Array) -> Array:
        """Expected transactions in the next ``t`` units of customers (x, T) known to be alive.

        A customer alive at T has survived x (BG/NBD) or x + 1 (MBG/NBD) drop-out chances,
        so their p is Beta(a, b + x + shift) and their rate Gamma(r + x, alpha + T); the
        result is BG/NBD's expectation for such a customer. It does not depend on t_x, so
        for one horizon it is computed once per distinct (x, T).
        """
        x, T = (np.asarray(v, dtype=np.float64) for v in (x, T))
        if np.ndim(t) == 0 and x.ndim == 1 and x.shape == T.shape:
            pairs = group_rows(x, T)
            return np.asarray(self._if_alive(np.asarray(t, dtype=np.float64), *pairs.columns)[pairs.inverse])
        return self._if_alive(np.asarray(t, dtype=np.float64), x, T)

    def _if_alive(self, t: Array, x: Array, T: Array) -> Array:
        r, alpha, a, b = self._fitted()
        b = b + self.SHIFT
        z = t / (alpha + T + t)
        # ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; z) equals, by Euler's
        # transformation, (1-z)^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z). scipy's 2F1 fails in
        # different places for each (overflow for many purchases in a short span, NaN for
        # large b with z near 1), so the finite one is taken.
        with np.errstate(over="ignore", invalid="ignore"):
            tail = (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
            if not np.all(np.isfinite(tail)):  # the textbook form only where Euler's fails
                textbook = (1 - z) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z)
                tail = np.where(np.isfinite(tail), tail, textbook)
        lost = ~np.isfinite(tail)
        if np.any(lost):  # both failed: sum the series ourselves, in log space
            shape = np.broadcast_shapes(np.shape(tail), np.shape(x), np.shape(z))
            zs, xs = np.broadcast_to(z, shape)[lost], np.broadcast_to(x, shape)[lost]
            log_sum = log_hyp2f1_series(a + b - 1 - r, a - 1, a + b + xs - 1, zs)
            tail = np.array(np.broadcast_to(tail, shape))
            tail[lost] = np.exp((a - 1) * np.log1p(-zs) + log_sum)
        return np.asarray((a + b + x - 1) / (a - 1) * (1 - tail))

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
