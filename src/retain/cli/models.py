"""``retain fit``: buy-till-you-die and spend models on the store's history."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from rich.table import Table

from retain.analytics.engine import Analytics
from retain.analytics.models.bgnbd import FitError
from retain.analytics.models.churn import ChurnReport, evaluate_churn_model
from retain.analytics.models.fitting import ModelName, fit_model
from retain.analytics.models.quality import Quality, model_quality
from retain.analytics.models.summary import Unit
from retain.bootstrap import App
from retain.cli.charts import lines, paired_bars
from retain.cli.ui import DbOption, console, fail, on_store
from retain.config import Settings
from retain.domain.metrics import PeriodError

REFUSE = (FitError, PeriodError)  # bad periods and data the models cannot use: exit status 2


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
    zone = Settings().store_timezone
    result = on_store(
        db,
        lambda app: fit_model(Analytics.from_store(app.url), model, calibration_end.date(), unit, zone),
        REFUSE,
    )
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


report_app = typer.Typer(help="How good the models are.", no_args_is_help=True)


@report_app.command("report")
def report(
    calibration_end: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day the model learns from.")
    ],
    holdout_end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Last day it is judged on.")],
    out: Annotated[Path, typer.Option(help="Folder for report.html and its charts.")] = Path("model-report"),
    db: DbOption = None,
) -> None:
    """Fit BG/NBD up to the calibration end and compare its forecasts with what happened
    up to the holdout end: cumulative repeat transactions week by week, and the holdout
    transactions by number of calibration transactions, as PNG charts and an HTML page.
    """
    if holdout_end <= calibration_end:
        fail("the holdout must end after the calibration")
    zone = Settings().store_timezone
    quality = on_store(
        db,
        lambda app: model_quality(
            Analytics.from_store(app.url), calibration_end.date(), holdout_end.date(), zone
        ),
        REFUSE,
    )
    out.mkdir(parents=True, exist_ok=True)
    lines(
        out / "cumulative.png",
        {"actual": list(quality.actual_cumulative), "expected (BG/NBD)": list(quality.expected_cumulative)},
        "Cumulative repeat transactions", "week since the first customer's first order", "transactions",
        mark=quality.calibration_periods,
    )  # fmt: skip
    paired_bars(
        out / "conditional.png",
        quality.buckets,
        {"actual": list(quality.actual_holdout), "expected (BG/NBD)": list(quality.expected_holdout)},
        "Holdout transactions per customer", "transactions in calibration", "mean holdout transactions",
    )  # fmt: skip
    (out / "report.html").write_text(_html(quality, calibration_end, holdout_end), encoding="utf-8")
    console.print(f"Model report written to {out / 'report.html'} (correlation {quality.correlation:.2f}).")


def _html(q: Quality, calibration_end: datetime, holdout_end: datetime) -> str:
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html"])
    )
    actual_end, expected_end = float(q.actual_cumulative[-1]), float(q.expected_cumulative[-1])
    return environment.get_template("model_report.html").render(
        calibration_end=f"{calibration_end:%Y-%m-%d}",
        holdout_end=f"{holdout_end:%Y-%m-%d}",
        actual_end=actual_end,
        expected_end=expected_end,
        error=(expected_end - actual_end) / actual_end,
        correlation=q.correlation,
        rows=list(zip(q.buckets, q.expected_holdout, q.actual_holdout, strict=True)),
    )


@report_app.command("churn")
def churn(
    horizon: Annotated[
        int, typer.Option(help="Days within which a customer orders again, or churns.", min=7)
    ] = 90,
    last_day: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day of history (default: today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    db: DbOption = None,
) -> None:
    """Train the supervised "orders again within N days" model on earlier time slices and
    judge it, and BG/NBD's ranking, on the latest N days: AUC, Brier score and calibration
    by decile. The supervised model is used for churn only where its AUC is higher.
    """
    zone = Settings().store_timezone

    def work(app: App) -> ChurnReport:
        day = last_day.date() if last_day else app.now().date()
        return evaluate_churn_model(Analytics.from_store(app.url), day, horizon, timezone=zone)

    result = on_store(db, work, REFUSE)
    if as_json:
        typer.echo(
            json.dumps(
                asdict(result) | {"holdout_cutoff": str(result.holdout_cutoff), "use_model": result.use_model}
            )
        )
        return
    winner = "the supervised model" if result.use_model else "BG/NBD"
    console.print(
        f"Holdout: {result.holdout_rows:,} customers at {result.holdout_cutoff}, "
        f"{result.horizon_days} days ahead "
        f"(trained on {result.training_rows:,} rows). AUC: supervised {result.auc_model:.3f}, "
        f"BG/NBD {result.auc_btyd:.3f}; Brier {result.brier_model:.3f}. Churn uses {winner}."
    )
    table = Table(title="Calibration by decile of predicted probability of ordering again")
    for column in ("predicted", "observed", "customers"):
        table.add_column(column, justify="right")
    for predicted, observed, count in result.calibration:
        table.add_row(f"{predicted:.1%}", f"{observed:.1%}", f"{count:,}")
    console.print(table)
