"""Fit any of the models on the store's history, by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import BetaGeoModel, ModifiedBetaGeoModel
from retain.analytics.models.gamma_gamma import GammaGammaModel
from retain.analytics.models.numerics import FitError
from retain.analytics.models.pareto_nbd import ParetoNBDModel
from retain.analytics.models.predict import MIN_CUSTOMERS
from retain.analytics.models.summary import Unit, calibration_summary
from retain.domain.money import exponent

ModelName = Literal["bgnbd", "mbgnbd", "pareto-nbd", "gamma-gamma"]
MODELS: tuple[ModelName, ...] = ("bgnbd", "mbgnbd", "pareto-nbd", "gamma-gamma")


@dataclass(frozen=True)
class FitResult:
    model: ModelName
    params: dict[str, float]
    log_likelihood: float
    customers: int
    standard_errors: dict[str, float] = field(default_factory=dict)


def fit_model(
    analytics: Analytics, model: ModelName, calibration_end: date, unit: Unit = "week", timezone: str = "UTC"
) -> FitResult:
    """Fit ``model`` on orders up to and including ``calibration_end``."""
    summary = calibration_summary(analytics, calibration_end, unit, timezone)
    if len(summary) < MIN_CUSTOMERS:
        raise FitError(
            f"only {len(summary)} customers ordered by {calibration_end}; "
            f"the models need at least {MIN_CUSTOMERS}"
        )
    if model == "gamma-gamma":
        spend = summary.mean_repeat_spend / 10 ** exponent(analytics.currency())
        gg = GammaGammaModel().fit(summary.x, spend)
        return FitResult(
            model,
            dict(zip(gg.PARAMS, map(float, gg.params_), strict=True)),
            gg.log_likelihood_,
            gg.n_customers_,
        )
    purchase_model: type[BetaGeoModel | ModifiedBetaGeoModel | ParetoNBDModel] = ParetoNBDModel
    if model == "bgnbd":
        purchase_model = BetaGeoModel
    elif model == "mbgnbd":
        purchase_model = ModifiedBetaGeoModel
    fitted = purchase_model().fit(summary.x, summary.t_x, summary.T)
    errors = getattr(fitted, "standard_errors_", np.full(4, np.nan))
    return FitResult(
        model,
        dict(zip(fitted.PARAMS, map(float, fitted.params_), strict=True)),
        fitted.log_likelihood_,
        fitted.n_customers_,
        {k: float(v) for k, v in zip(fitted.PARAMS, errors, strict=True) if np.isfinite(v)},
    )
