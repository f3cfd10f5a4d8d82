"""BG/NBD and MBG/NBD expectations checked against simulated customers.

The law of total expectation ties the formulas to the processes themselves: averaged over
simulated calibration histories, the conditional expectation must equal the mean number
of purchases the same simulated customers make in the holdout; and the unconditional
expectation must equal the mean number of repeat purchases of new customers.
"""

from __future__ import annotations

import numpy as np
import pytest

from retain.analytics.models.bgnbd import BetaGeoModel, ModifiedBetaGeoModel, _BetaGeoFamily

PARAMS = np.array([0.6, 8.0, 1.6, 3.0])  # r, alpha, a, b
CUSTOMERS = 200_000
CALIBRATION, HOLDOUT = 40.0, 30.0


def simulate(shift: int, seed: int = 7) -> tuple[np.ndarray, ...]:
    """(x, t_x, holdout purchases) for customers whose first purchase is at time 0."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = PARAMS
    rate = rng.gamma(r, 1 / alpha, CUSTOMERS)
    drop = rng.beta(a, b, CUSTOMERS)
    now = np.zeros(CUSTOMERS)
    alive = rng.random(CUSTOMERS) >= drop if shift else np.ones(CUSTOMERS, bool)
    x, t_x, later = np.zeros(CUSTOMERS), np.zeros(CUSTOMERS), np.zeros(CUSTOMERS)
    while alive.any():
        now = np.where(alive, now + rng.exponential(1 / rate), now)
        alive &= now <= CALIBRATION + HOLDOUT
        in_calibration = alive & (now <= CALIBRATION)
        x += in_calibration
        t_x = np.where(in_calibration, now, t_x)
        later += alive & (now > CALIBRATION)
        alive &= rng.random(CUSTOMERS) >= drop
    return x, t_x, later


@pytest.mark.parametrize(("model_class", "shift"), [(BetaGeoModel, 0), (ModifiedBetaGeoModel, 1)])
def test_expectations_match_the_simulated_process(model_class: type[_BetaGeoFamily], shift: int) -> None:
    x, t_x, later = simulate(shift)
    model = model_class()
    model.params_ = PARAMS
    T = np.full(CUSTOMERS, CALIBRATION)
    predicted = model.conditional_expected_transactions(HOLDOUT, x, t_x, T)
    assert predicted.sum() == pytest.approx(later.sum(), rel=0.02)
    # A new customer's expected repeat purchases in the first 40 units.
    assert float(model.expected_transactions(CALIBRATION)) == pytest.approx(x.mean(), rel=0.02)
