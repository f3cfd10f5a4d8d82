"""The fast paths of the models give what the plain formulas give.

Each test computes a quantity the straightforward way, customer by customer, and checks the
path the models take at a million customers against it: sums per x over consecutive runs,
32-bit sort keys, in-place likelihoods, P(alive) per distinct x, every month's expectation
in one call, and BLAS held to one thread during a search.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import threadpoolctl
from numpy.testing import assert_allclose
from scipy import special

from retain.analytics.models.bgnbd import BetaGeoModel, ModifiedBetaGeoModel, _unique, _value_and_gradient
from retain.analytics.models.gamma_gamma import GammaGammaModel, _Spend
from retain.analytics.models.gamma_gamma import _value_and_gradient as spend_value_and_gradient
from retain.analytics.models.grouping import count_rows, group_rows
from retain.analytics.models.numerics import one_blas_thread
from retain.analytics.models.predict import _discounted_orders


def _customers(size: int, seed: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    rng = np.random.default_rng(seed)
    x = np.minimum(rng.geometric(0.4, size) - 1, 60).astype(np.float64)
    T = rng.integers(300, 390, size).astype(np.float64)
    t_x = np.where(x > 0, np.floor(rng.random(size) * T), 0.0)
    return x, t_x, T


def test_keys_sorted_in_32_bits_group_like_numpy() -> None:
    # Too many combinations to count densely, few enough for a 32-bit key.
    rng = np.random.default_rng(1)
    data = tuple(rng.integers(0, high, 20_000).astype(np.float64) for high in (100, 2000, 2000))
    expected, counts = np.unique(np.stack(data, axis=1), axis=0, return_counts=True)
    for groups in (group_rows(*data), count_rows(*data)):
        np.testing.assert_array_equal(np.stack(groups.columns, axis=1), expected)
        np.testing.assert_array_equal(groups.counts, counts)
    grouped = group_rows(*data)
    for column, distinct in zip(data, grouped.columns, strict=True):
        np.testing.assert_array_equal(distinct[grouped.inverse], column)


@pytest.mark.parametrize("shift", [0, 1])
def test_the_likelihood_over_combinations_in_order_of_x_matches_rows_in_any_order(shift: int) -> None:
    x, t_x, T = _customers(5000)
    combos = _unique(x, t_x, T)
    assert combos.x_starts is not None  # counted combinations come in order of x
    order = np.random.default_rng(2).permutation(x.size)
    rows = _unique(x[order], t_x[order], T[order], weight=np.ones(x.size))
    assert rows.x_starts is None  # shuffled rows: the sums per x are counted by code
    point = np.array([0.4, 20.0, 0.7, 2.5])
    value, gradient = _value_and_gradient(point, combos, shift)
    row_value, row_gradient = _value_and_gradient(point, rows, shift)
    assert value == pytest.approx(row_value, rel=1e-12)
    assert_allclose(gradient, row_gradient, rtol=1e-10)


def test_p_alive_matches_the_closed_form_for_whole_and_fractional_x() -> None:
    x, t_x, T = _customers(3000)
    for model in (BetaGeoModel(), ModifiedBetaGeoModel()):
        model.params_ = np.array([0.4, 20.0, 0.7, 2.5])
        r, alpha, a, b = model.params_
        for xs in (x, x + 0.5):  # whole numbers are looked up per value, others computed per row
            shifted = xs + model.SHIFT
            with np.errstate(divide="ignore", invalid="ignore"):
                tail = np.where(shifted > 0, np.log(a) - np.log(b + shifted - 1), -np.inf)
            diff = tail + (r + xs) * (np.log(alpha + T) - np.log(alpha + t_x))
            assert_allclose(model.p_alive(xs, t_x, T), special.expit(-diff), rtol=1e-14, atol=1e-300)
        # Shapes broadcast as before: one T for every customer, a single customer.
        assert model.p_alive(x[:3], t_x[:3], 390.0).shape == (3,)
        assert np.ndim(model.p_alive(2.0, 10.0, 30.0)) == 0


def test_the_spend_likelihood_matches_the_sum_over_customers() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(1, 30, 4000).astype(np.float64)
    m = rng.gamma(6.0, 6.0, x.size)
    point = np.array([5.0, 3.5, 14.0])

    def textbook(params: np.ndarray) -> float:  # type: ignore[type-arg]
        p, q, gamma = params
        return float(
            np.sum(
                special.gammaln(p * x + q)
                - special.gammaln(p * x)
                - special.gammaln(q)
                + q * np.log(gamma)
                + (p * x - 1) * np.log(m)
                + p * x * np.log(x)
                - (p * x + q) * np.log(gamma + m * x)
            )
        )

    value, gradient = spend_value_and_gradient(point, _Spend.of(x, m))
    assert value == pytest.approx(textbook(point), rel=1e-12)
    numeric = []
    for i in range(3):
        step = np.zeros(3)
        step[i] = 1e-6 * point[i]
        numeric.append((textbook(point + step) - textbook(point - step)) / (2 * step[i]))
    assert_allclose(gradient, numeric, rtol=1e-5)


@pytest.mark.parametrize(
    ("size", "horizon", "rate"),
    [(2000, 365, 0.1), (2000, 380, 0.05), (2000, 10, 0.0), (60_000, 1100, 0.1)],  # the last in blocks
)
def test_discounted_orders_in_one_call_match_month_by_month(size: int, horizon: int, rate: float) -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 150, size).astype(np.float64)
    T = rng.integers(100, 400, size).astype(np.float64)
    model = BetaGeoModel()
    model.params_ = np.array([0.4, 20.0, 1.7, 2.5])
    pairs = group_rows(x, T)
    expected = np.zeros(pairs.counts.size)
    previous = np.zeros(pairs.counts.size)
    months = max(1, round(horizon / (365.25 / 12)))
    for month in range(1, months + 1):
        cumulative = model.expected_if_alive(min(month * 365.25 / 12, float(horizon)), *pairs.columns)
        expected += (cumulative - previous) / (1 + rate) ** (month / 12)
        previous = cumulative
    assert_allclose(_discounted_orders(model, pairs, horizon, rate), expected, rtol=1e-14)


def test_a_search_leaves_the_blas_threads_as_it_found_them() -> None:
    def blas_threads() -> list[int]:
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):  # so that one is a change
        before = blas_threads()
        assert set(before) == {2}
        _search_twice(blas_threads)
        assert blas_threads() == before


def _search_twice(blas_threads: Callable[[], list[int]]) -> None:
    with one_blas_thread():
        with one_blas_thread():  # nested, as when searches overlap in two threads
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}  # the outer search still holds the limit
    x, t_x, T = _customers(2000)
    GammaGammaModel().fit(x, np.random.default_rng(6).gamma(6.0, 6.0, x.size))
    BetaGeoModel().fit(x, t_x, T)
