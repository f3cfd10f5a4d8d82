"""Pareto/NBD reproduces the published CDNOW estimates (Fader & Hardie's notes)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from retain.analytics.models.pareto_nbd import ParetoNBDModel
from retain.analytics.models.summary import Summary


def test_parameters_and_likelihood_match_the_published_values(summary: Summary) -> None:
    model = ParetoNBDModel().fit(summary.x, summary.t_x, summary.T)
    assert_allclose(model.params_, [0.553, 10.578, 0.606, 11.669], atol=1e-3)
    assert model.log_likelihood_ == pytest.approx(-9595.0, abs=0.05)


def test_p_alive_is_a_probability_that_falls_with_silence(summary: Summary) -> None:
    model = ParetoNBDModel().fit(summary.x, summary.t_x, summary.T)
    alive = model.p_alive(np.array([0.0, 3.0, 3.0]), np.array([0.0, 30.0, 5.0]), np.array([38.0, 38.0, 38.0]))
    assert np.all((alive > 0) & (alive <= 1))
    assert alive[1] > alive[2]


def test_standard_errors_are_finite_and_small_beside_the_estimates(summary: Summary) -> None:
    model = ParetoNBDModel().fit(summary.x, summary.t_x, summary.T)
    errors = model.standard_errors_
    assert np.all(np.isfinite(errors))
    assert np.all((errors > 0) & (errors < model.params_))


@pytest.mark.parametrize(
    "params",
    [
        [0.553, 10.578, 0.606, 11.669],  # the CDNOW estimates: beta a little above alpha
        [2.0, 30.0, 0.3, 1.5],  # alpha far above beta: z up to 0.95, a long series
        [2.0, 60.0, 0.3, 0.5],  # z above 0.98 for short spans: scipy's 2F1 takes over
        [0.2, 1.0, 3.0, 80.0],  # beta far above alpha
        [1.0, 5.0, 1.0, 5.0],  # alpha = beta: z = 0
    ],
)
def test_the_analytic_gradient_matches_central_differences(summary: Summary, params: list[float]) -> None:
    from retain.analytics.models.bgnbd import _unique
    from retain.analytics.models.pareto_nbd import _pairs, _value_and_gradient

    x = np.concatenate([summary.x, [0.0, 500.0, 40.0]])
    t_x = np.concatenate([summary.t_x, [0.0, 70.0, 70.0]])
    T = np.concatenate([summary.T, [70.0, 70.0, 70.0]])
    data = _unique(x, t_x, T)
    pairs = _pairs(data)
    point = np.array(params)
    _, gradient = _value_and_gradient(point, data, pairs)
    numeric = np.empty(4)
    for i in range(4):
        step = np.zeros(4)
        step[i] = 1e-6 * point[i]
        up = _value_and_gradient(point + step, data, pairs)[0]
        down = _value_and_gradient(point - step, data, pairs)[0]
        numeric[i] = (up - down) / (2 * step[i])
    assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-3)


def test_the_series_matches_scipy_and_its_own_derivatives() -> None:
    from scipy import special

    from retain.analytics.models.pareto_nbd import _series

    b = np.array([0.3, 1.6, 12.0, 600.0, 1.6])
    c = b + np.array([1.2, 0.7, 3.0, 1.6, 600.0])
    z = np.array([0.0, 0.2, 0.5, 0.89, 0.89])
    value, d_b, d_c, d_z = _series(b, c, z)
    assert_allclose(value, special.hyp2f1(1.0, b, c, z), rtol=1e-12)
    h = 1e-6
    for derivative, (db, dc, dz) in ((d_b, (h, 0, 0)), (d_c, (0, h, 0)), (d_z, (0, 0, h))):
        up = special.hyp2f1(1.0, b + db, c + dc, z + dz)
        down = special.hyp2f1(1.0, b - db, c - dc, z - dz)
        assert_allclose(derivative, (up - down) / (2 * h), rtol=1e-6, atol=1e-9)
