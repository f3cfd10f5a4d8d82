"""``retain fit``: buy-till-you-die and spend models on the store's history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import FitError
from retain.analytics.models.fitting import ModelName, fit_model
from retain.analytics.models.summary import Unit
from retain.bootstrap import bootstrap
from retain.cli.ui import DbOption, console, fail
from retain.config import Settings
from retain.domain.metrics import PeriodError


def fit(
    model: Annotated[ModelName, typer.Argument(help="bgnbd, mbgnbd, pareto-nbd or gamma-gamma.")],
    calibration_end: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day of history to learn from, YYYY-MM-DD.")
    ],
    unit: Annotated[Unit, typer.Option(help="Time unit of t_x, T and the rate parameters.")] = "week",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    db: DbOption = None,
) -> None:
    """Fit a model by maximum likelihood and print its parameters, standard errors and
    log-likelihood. BG/NBD (Fader, Hardie & Lee 2005), MBG/NBD (Batislam et al. 2007) and
    Pareto/NBD (Schmittlein et al. 1987) model repeat purchasing; Gamma-Gamma (Fader, Hardie
    & Lee 2005b) models spend per transaction, in the currency's major unit. Several orders
    by a customer on one day count as one transaction.
    """
    app = bootstrap(db)
    try:
        result = fit_model(
            Analytics.from_store(app.url), model, calibration_end.date(), unit, Settings().store_timezone
        )
    except (FitError, PeriodError) as exc:
        fail(str(exc))
    finally:
        app.close()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "model": result.model,
                    "params": result.params,
                    "standard_errors": result.standard_errors,
                    "log_likelihood": result.log_likelihood,
                    "customers": result.customers,
                }
            )
        )
        return
    fitted = f"{result.customers:,} customers, log-likelihood {result.log_likelihood:,.1f}"
    table = Table(title=f"{model} ({fitted})")
    table.add_column("parameter")
    table.add_column("estimate", justify="right")
    table.add_column("std. error", justify="right")
    for name, value in result.params.items():
        error = result.standard_errors.get(name)
        table.add_row(name, f"{value:.4f}", "" if error is None else f"{error:.4f}")
    console.print(table)
