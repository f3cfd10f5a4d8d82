"""Small numerical helpers shared by the models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def log_add_exp(a: Array, b: Array) -> Array:
    """log(e^a + e^b) without overflow; ``b`` may be -inf (a must be finite).

    Several times faster than ``np.logaddexp``, which dominates the likelihoods' cost.
    """
    return np.asarray(np.maximum(a, b) + np.log1p(np.exp(-np.abs(a - b))))


def standard_errors(gradient: Callable[[Array], Array], params: Array) -> Array:
    """Square roots of the inverse observed information at a maximum, by central differences
    of the analytic ``gradient`` of the log-likelihood; NaN where the information is singular."""
    size = params.size
    steps = 1e-5 * np.maximum(params, 1e-3)
    hessian = np.empty((size, size))
    for i in range(size):
        up, down = params.copy(), params.copy()
        up[i] += steps[i]
        down[i] -= steps[i]
        hessian[i] = (gradient(up) - gradient(down)) / (2 * steps[i])
    hessian = (hessian + hessian.T) / 2
    try:
        covariance = np.linalg.inv(-hessian)
    except np.linalg.LinAlgError:
        return np.full(size, np.nan)
    return np.sqrt(np.maximum(np.diag(covariance), 0))
