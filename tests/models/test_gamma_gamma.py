"""Gamma-Gamma reproduces Fader, Hardie & Lee (2005b) on the CDNOW 1/10 sample."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from retain.analytics.models.gamma_gamma import GammaGammaModel
from retain.analytics.models.numerics import FitError
from retain.analytics.models.summary import Summary


def dollars(summary: Summary) -> np.ndarray:  # type: ignore[type-arg]
    return summary.mean_repeat_spend / 100


def test_parameters_and_likelihood_match_the_published_values(summary: Summary) -> None:
    model = GammaGammaModel().fit(summary.x, dollars(summary))
    assert model.n_customers_ == 946
    assert_allclose(model.params_, [6.25, 3.74, 15.44], atol=5e-3)
    assert model.log_likelihood_ == pytest.approx(-4055.9, abs=0.05)


def test_expected_spend_shrinks_a_customer_mean_towards_the_population(summary: Summary) -> None:
    model = GammaGammaModel().fit(summary.x, dollars(summary))
    p, q, gamma = model.params_
    population = p * gamma / (q - 1)
    spend = model.conditional_expected_spend(np.array([0.0, 1.0, 50.0]), np.array([0.0, 100.0, 100.0]))
    assert spend[0] == pytest.approx(population)  # nothing known: the population mean
    assert population < spend[1] < spend[2] < 100  # more transactions, more trust in the own mean


def test_zero_spend_customers_do_not_break_the_fit(summary: Summary) -> None:
    spend = dollars(summary).copy()
    spend[np.flatnonzero(summary.x > 0)[:5]] = 0.0
    model = GammaGammaModel().fit(summary.x, spend)
    assert model.n_customers_ == 941
    assert np.all(np.isfinite(model.params_))


def test_too_few_repeat_buyers_are_refused() -> None:
    with pytest.raises(FitError, match="too few repeat buyers"):
        GammaGammaModel().fit(np.array([0.0, 1.0]), np.array([0.0, 5.0]))
