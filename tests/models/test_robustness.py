"""BG/NBD and MBG/NBD stay finite for extreme histories (property-based).

Histories are the ones real data can produce: same-day orders count once, so x repeat
purchases span at least x days (t_x >= x / 7 weeks), up to x = 10,000 and T = 10,000.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retain.analytics.models.bgnbd import BetaGeoModel, _unique, _value_and_gradient

params = st.tuples(*(st.floats(0.01, 100.0) for _ in range(4)))
history = st.floats(0.01, 10_000.0).flatmap(
    lambda T: st.integers(0, min(10_000, int(7 * T))).flatmap(
        lambda x: st.tuples(st.just(x), st.sampled_from([x / 7, max(x / 7, T / 2), T]), st.just(T))
    )
)


@settings(max_examples=300, deadline=None)
@given(params, history)
def test_likelihood_gradient_and_predictions_stay_finite(
    p: tuple[float, ...], h: tuple[int, float, float]
) -> None:
    x, t_x, T = (np.array([float(v)]) for v in h)
    point = np.array(p)
    data = _unique(x, t_x, T)
    for shift in (0, 1):
        value, gradient = _value_and_gradient(point, data, shift)
        assert np.isfinite(value)
        assert np.all(np.isfinite(gradient))
    model = BetaGeoModel()
    model.params_ = point
    alive = model.p_alive(x, t_x, T)
    assert np.all((alive >= 0) & (alive <= 1))
    if point[2] > 1:  # the expectation exists only for a > 1 (FHL 2005, eq. 10)
        expected = model.conditional_expected_transactions(52.0, x, t_x, T)
        assert np.all(np.isfinite(expected))
        assert np.all(expected >= 0)


@settings(max_examples=300, deadline=None)
@given(params, history)
def test_pareto_nbd_stays_finite_and_p_alive_is_a_probability(
    p: tuple[float, ...], h: tuple[int, float, float]
) -> None:
    from retain.analytics.models.pareto_nbd import (
        ParetoNBDModel,
        _log_likelihoods,
        _pairs,
        _value_and_gradient,
    )

    x, t_x, T = (np.array([float(v)]) for v in h)
    point = np.array(p)
    assert np.all(np.isfinite(_log_likelihoods(point, x, t_x, T)))
    data = _unique(x, t_x, T)
    value, gradient = _value_and_gradient(point, data, _pairs(data))
    assert np.isfinite(value)
    assert np.all(np.isfinite(gradient))
    model = ParetoNBDModel()
    model.params_ = point
    alive = model.p_alive(x, t_x, T)
    assert np.all((alive >= 0) & (alive <= 1 + 1e-12))


def test_the_log_series_agrees_with_scipy_where_scipy_is_reliable() -> None:
    from scipy import special

    from retain.analytics.models.bgnbd import log_hyp2f1_series

    for a, b, c, z in ((1.5, 2.0, 3.7, 0.3), (0.5, 0.8, 5.0, 0.9), (2.0, 3.0, 10.0, 0.99)):
        value = float(np.exp(log_hyp2f1_series(a, b, np.array([c]), np.array([z])))[0])
        assert value == pytest.approx(special.hyp2f1(a, b, c, z), rel=1e-9)


def test_the_log_series_is_right_where_scipy_returns_infinity() -> None:
    from retain.analytics.models.bgnbd import log_hyp2f1_series

    z = 52 / 54
    # 2F1(1, 1; 101; z) = sum of n! z^n / (101)_n: positive, shrinking terms, summed plainly.
    reference, term = 0.0, 1.0
    for n in range(5_000):
        reference += term
        term *= (n + 1) * z / (101 + n)
    assert float(np.exp(log_hyp2f1_series(1.0, 1.0, np.array([101.0]), np.array([z])))[0]) == pytest.approx(
        reference, rel=1e-10
    )
