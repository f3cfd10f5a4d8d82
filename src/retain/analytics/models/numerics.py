"""Small numerical helpers shared by the models."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def log_add_exp(a: Array, b: Array) -> Array:
    """log(e^a + e^b) without overflow; ``b`` may be -inf (a must be finite).

    Several times faster than ``np.logaddexp``, which dominates the likelihoods' cost.
    """
    return np.asarray(np.maximum(a, b) + np.log1p(np.exp(-np.abs(a - b))))
