"""Small numerical helpers shared by the models."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize
from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

Array = npt.NDArray[np.float64]


class NotFittedError(RuntimeError):
    """The model was used before ``fit``."""


class FitError(RuntimeError):
    """The likelihood could not be maximised; the message says why."""


def maximise(
    value_and_gradient: Callable[[Array], tuple[float, Array]],
    start: Array,
    name: str,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> tuple[Array, float]:
    """The parameters (all positive) that maximise a log-likelihood, and its maximum.

    L-BFGS searches the logs of the parameters, so every step stays positive; a step into a
    region where the likelihood is not finite counts as infinitely bad, so the line search
    backs off from it.
    """

    def loss(theta: Array) -> tuple[float, Array]:
        params = np.exp(theta)
        value, gradient = value_and_gradient(params)
        if not np.isfinite(value):
            return 1e300, np.zeros_like(theta)
        return -value, -gradient * params

    with one_blas_thread():
        found = optimize.minimize(
            loss, np.log(start), jac=True, method="L-BFGS-B", options={"maxiter": max_iter, "gtol": tol}
        )
    if not found.success or not np.all(np.isfinite(found.x)):
        raise FitError(f"{name} did not converge: {found.message}")
    return np.exp(found.x), -float(found.fun)


class _OneBlasThread:
    """BLAS and LAPACK on one thread while a likelihood is maximised, as before afterwards.

    Each L-BFGS-B step solves a triangular system of a few rows (LAPACK's dtrtrs), which
    OpenBLAS hands to its threads whatever the size; they then spin for a while, taking a
    core from the likelihood's own array work between steps (on two busy cores the searches
    took half as long again). The likelihoods' dot products are faster on one thread too.
    Searches in several threads share one limit: the first sets it, the last lifts it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                self._limiter = _blas_pools().limit(limits=1, user_api="blas")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._limiter is not None:
                    self._limiter.restore_original_limits()
                    self._limiter = None


@functools.cache
def _blas_pools() -> Any:
    """The loaded BLAS libraries (numpy's and scipy's, both loaded with this module), found once."""
    return ThreadpoolController()


one_blas_thread = _OneBlasThread()


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
    with one_blas_thread():
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
