"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), with the likelihood as
written in Fader & Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related
Expressions".

Transactions are Poisson with rate lambda ~ Gamma(r, alpha) while alive; lifetimes are
exponential with rate mu ~ Gamma(s, beta). A customer with x purchases, the last at t_x,
observed until T, has likelihood

    Gamma(r+x) alpha^r beta^s / Gamma(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s (H(t_x) - H(T)) ]

where H(t) is the integral over a death time tau > t of (alpha+tau)^-(r+x) (beta+tau)^-(s+1):
the "died between t_x and T" branch. H is a Gauss hypergeometric function, taken in
Euler's form 2F1(1, b; c; z) with 0 <= z < 1, whose series has positive terms that only
shrink; it is summed together with its derivatives in b, c and z, so the likelihood's
gradient is analytic. Large purchase counts stay finite because every power is in log
space. H depends on a customer only through (x, t), so it is computed once per distinct
pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import numpy.typing as npt
from scipy import special

from retain.analytics.models.bgnbd import _check, _Data, _unique
from retain.analytics.models.grouping import Codes, group_rows
from retain.analytics.models.numerics import NotFittedError, log_add_exp, maximise, standard_errors

Array = npt.NDArray[np.float64]
SERIES_LIMIT = 0.98  # above this z the series is slow; scipy's 2F1 takes over where it can
MAX_TERMS = 1_000_000


@dataclass(frozen=True, slots=True)
class _Pairs:
    """The distinct (x, t) at which H is needed: t_x and T of every combination."""

    x: Array
    t: Array
    at_t_x: Codes  # each combination's index of its (x, t_x) pair
    at_T: Codes


def _pairs(d: _Data) -> _Pairs:
    n = d.x.size
    pairs = group_rows(np.concatenate([d.x, d.x]), np.concatenate([d.t_x, d.T]))
    x, t = pairs.columns
    return _Pairs(x, t, pairs.inverse[:n], pairs.inverse[n:])


def _series(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """2F1(1, b; c; z) and its derivatives in b, c and z, for c > b > 0 and 0 <= z < 1.

    Term n is prod_{j<n} (b+j)/(c+j) z^n; rows leave the sum once their next term, even
    weighted by its derivative factors, is below double precision of the sum. A row still
    summing after ``MAX_TERMS`` terms (z within about 1e-5 of 1) is infinite, which a fit
    treats as a step too far.
    """
    m = b.size
    total, d_b, d_c, d_z = np.ones(m), np.zeros(m), np.zeros(m), np.zeros(m)
    rows = np.arange(m)
    term, sum_b, sum_c = np.ones(m), np.zeros(m), np.zeros(m)
    s, sb, sc, sz = np.ones(m), np.zeros(m), np.zeros(m), np.zeros(m)
    for n in range(MAX_TERMS):
        ratio = (b + n) / (c + n)
        sz += (n + 1) * term * ratio
        sum_b += 1 / (b + n)
        sum_c += 1 / (c + n)
        term = term * ratio * z
        s += term
        sb += term * sum_b
        sc -= term * sum_c
        done = term * (n + 2) * (1 + sum_b) < 1e-15 * s
        if done.any():
            finished = rows[done]
            total[finished], d_b[finished], d_c[finished], d_z[finished] = (
                s[done],
                sb[done],
                sc[done],
                sz[done],
            )
            keep = ~done
            if not keep.any():
                break
            rows, b, c, z = rows[keep], b[keep], c[keep], z[keep]
            term, sum_b, sum_c, s, sb, sc, sz = (v[keep] for v in (term, sum_b, sum_c, s, sb, sc, sz))
    else:
        total[rows] = np.inf
    return total, d_b, d_c, d_z


def _scipy_series(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """The same for z near 1, from scipy's 2F1, differenced in b and c; rows where scipy
    gives up are summed after all."""
    value = np.asarray(special.hyp2f1(1.0, b, c, z), dtype=np.float64)
    d_z = b / c * special.hyp2f1(2.0, b + 1, c + 1, z)
    h_b, h_c = 1e-6 * b, 1e-6 * c
    d_b = (special.hyp2f1(1.0, b + h_b, c, z) - special.hyp2f1(1.0, b - h_b, c, z)) / (2 * h_b)
    d_c = (special.hyp2f1(1.0, b, c + h_c, z) - special.hyp2f1(1.0, b, c - h_c, z)) / (2 * h_c)
    lost = ~(np.isfinite(value) & np.isfinite(d_z) & np.isfinite(d_b) & np.isfinite(d_c))
    if lost.any():
        value[lost], d_b[lost], d_c[lost], d_z[lost] = _series(b[lost], c[lost], z[lost])
    return value, d_b, d_c, d_z


def _log_h(p: Array, q: Array, A: Array, B: Array) -> tuple[Array, Array]:
    """log H and its gradient in (p, q, A, B), where H = integral over tau > 0 of
    (A+tau)^-p (B+tau)^-q. Here p = r + x, q = s + 1, A = alpha + t and B = beta + t.

    With (u, v, U, V) = (p, q, A, B) if A >= B, else (q, p, B, A), and z = 1 - V/U:
    H = U^-u V^-(v-1) 2F1(1, u; u+v; z) / (u+v-1).
    """
    swap = B > A
    u, v = np.where(swap, q, p), np.where(swap, p, q)
    U, V = np.where(swap, B, A), np.where(swap, A, B)
    z = (U - V) / U
    near_one = z > SERIES_LIMIT
    s, sb, sc, sz = (np.empty_like(z) for _ in range(4))
    for rows, method in ((~near_one, _series), (near_one, _scipy_series)):
        if rows.any():
            s[rows], sb[rows], sc[rows], sz[rows] = method(u[rows], (u + v)[rows], z[rows])
    k = u + v - 1
    log_u, log_v = np.log(U), np.log(V)
    value = -u * log_u - (v - 1) * log_v + np.log(s) - np.log(k)
    by_u = -log_u + (sb + sc) / s - 1 / k
    by_v = -log_v + sc / s - 1 / k
    by_big = -u / U + sz / s * V / U**2
    by_small = -(v - 1) / V - sz / s / U
    gradient = np.stack(
        [
            np.where(swap, by_v, by_u),  # p
            np.where(swap, by_u, by_v),  # q
            np.where(swap, by_small, by_big),  # A
            np.where(swap, by_big, by_small),  # B
        ]
    )
    return value, gradient


@dataclass(frozen=True, slots=True)
class _Branches:
    """Per combination, the log-likelihood's parts: head + log(e^alive + e^died), where
    alive is the branch "alive at T" and died "died between t_x and T"; and, per distinct
    (x, t) pair, log H and its gradient in (p, q, A, B) (4 x pairs)."""

    head: Array
    alive: Array
    died: Array
    odds: Array  # H(T) / (H(t_x) - H(T)): how log(H(t_x) - H(T)) moves with log H(T)
    grad_h: Array


def _branches(params: Array, d: _Data, pairs: _Pairs) -> _Branches:
    r, alpha, s, beta = params
    log_h, grad_h = _log_h(r + pairs.x, np.full(pairs.x.size, s + 1), alpha + pairs.t, beta + pairs.t)
    h1, h2 = log_h[pairs.at_t_x], log_h[pairs.at_T]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = -np.expm1(h2 - h1)  # 1 - H(T)/H(t_x): 0 when t_x = T, and nobody died then
        died = np.where(gap > 0, np.log(s) + h1 + np.log(gap), -np.inf)
        odds = np.where(gap > 0, (1 - gap) / gap, 0.0)
    rx = r + d.x
    alive = -rx * np.log(alpha + d.times)[d.T_of] - s * np.log(beta + d.times)[d.T_of]
    head = (special.gammaln(r + d.xs) - special.gammaln(r))[d.x_of] + r * np.log(alpha) + s * np.log(beta)
    return _Branches(head, alive, died, odds, grad_h)


def _value_and_gradient(params: Array, d: _Data, pairs: _Pairs) -> tuple[float, Array]:
    """The weighted log-likelihood and its gradient in (r, alpha, s, beta).

    Each gradient term is gathered where it is cheapest: per distinct x, per distinct time,
    or per distinct (x, t) pair, weighted by how much of the likelihood sits there.
    """
    r, alpha, s, beta = params
    b = _branches(params, d, pairs)
    total = log_add_exp(b.alive, b.died)
    share = np.exp(b.alive - total)  # P(alive) of each combination
    w_alive = d.weight * share
    w_died = d.weight - w_alive
    n = d.weight.sum()
    # head: Gamma(r+x)/Gamma(r) alpha^r beta^s
    grad = np.array(
        [
            d.x_weight @ (special.digamma(r + d.xs) - special.digamma(r)) + n * np.log(alpha),
            n * r / alpha,
            n * np.log(beta),
            n * s / beta,
        ]
    )
    # alive: (alpha+T)^-(r+x) (beta+T)^-s
    size = d.times.size
    at_time = np.bincount(d.T_of, w_alive, size)
    at_time_rx = np.bincount(d.T_of, w_alive * (r + d.x), size)
    grad -= [
        at_time @ np.log(alpha + d.times),
        at_time_rx @ (1 / (alpha + d.times)),
        at_time @ np.log(beta + d.times),
        s * at_time @ (1 / (beta + d.times)),
    ]
    # died: s (H(t_x) - H(T)); log(H1 - H2) moves as (1 + odds) dlog H1 - odds dlog H2.
    m = pairs.x.size
    on_pairs = np.bincount(pairs.at_t_x, w_died * (1 + b.odds), m) - np.bincount(
        pairs.at_T, w_died * b.odds, m
    )
    p_, q_, a_, b_ = b.grad_h @ on_pairs  # H's (p, q, A, B) move one for one with (r, s, alpha, beta)
    grad += [p_, a_, q_ + w_died.sum() / s, b_]
    return float(d.weight @ (b.head + total)), grad


def _log_likelihoods(params: Array, x: Array, t_x: Array, T: Array) -> Array:
    """Each customer's log-likelihood."""
    d = _unique(x, t_x, T, weight=np.ones(x.size))
    b = _branches(params, d, _pairs(d))
    return np.asarray(b.head + log_add_exp(b.alive, b.died))


class ParetoNBDModel:
    """Pareto/NBD: ``fit(x, t_x, T)`` learns ``params_`` = (r, alpha, s, beta)."""

    PARAMS = ("r", "alpha", "s", "beta")

    def __init__(self, tol: float = 1e-10, max_iter: int = 1000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, x: Array, t_x: Array, T: Array) -> Self:
        x, t_x, T = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
        _check(x, t_x, T)
        data = _unique(x, t_x, T)
        pairs = _pairs(data)
        start = np.array([1.0, max(float(np.mean(T)), 1e-3), 1.0, max(float(np.mean(T)), 1e-3)])
        self.params_, self.log_likelihood_ = maximise(
            lambda params: _value_and_gradient(params, data, pairs),
            start,
            "Pareto/NBD",
            self.tol,
            self.max_iter,
        )
        self.n_customers_ = int(x.size)
        self._data, self._pairs = data, pairs
        return self

    @property
    def standard_errors_(self) -> Array:
        """Standard errors of (r, alpha, s, beta), from the observed information at the optimum."""
        if not hasattr(self, "params_"):
            raise NotFittedError("fit the model before using it")
        if not hasattr(self, "_errors"):
            data, pairs = self._data, self._pairs
            self._errors = standard_errors(
                lambda params: _value_and_gradient(params, data, pairs)[1], self.params_
            )
        return self._errors

    def p_alive(self, x: Array, t_x: Array, T: Array) -> Array:
        """Probability each customer is alive at T: the likelihood's "alive" share."""
        if not hasattr(self, "params_"):
            raise NotFittedError("fit the model before using it")
        x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, t_x, T)))
        d = _unique(x.ravel(), t_x.ravel(), T.ravel(), weight=np.ones(x.size))
        b = _branches(self.params_, d, _pairs(d))
        return np.asarray(np.exp(b.alive - log_add_exp(b.alive, b.died)).reshape(x.shape))
