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
