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
from retain.analytics.models.churn import ChurnReport, evaluate_churn_model
from retain.analytics.models.fitting import ModelName, fit_model
from retain.analytics.models.numerics import FitError
from retain.analytics.models.quality import Quality, model_quality
from retain.analytics.models.summary import Unit
from retain.bootstrap import App
from retain.cli.charts import calibration, lines, paired_bars, roc
from retain.cli.ui import DbOption, console, fail, on_store
from retain.config import Settings
from retain.domain.metrics import PeriodError

REFUSE = (FitError, PeriodError)  # bad periods and data the models cannot use: exit status 2
CHURN_CHARTS = ("churn_roc.png", "churn_calibration.png")


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
    churn_horizon: Annotated[
        int, typer.Option(help="Days within which a customer orders again, for the churn model.", min=7)
    ] = 90,
    out: Annotated[Path, typer.Option(help="Folder for report.html and its charts.")] = Path("model-report"),
    db: DbOption = None,
) -> None:
    """Fit BG/NBD up to the calibration end and compare its forecasts with what happened
    up to the holdout end: cumulative repeat transactions week by week, and the holdout
    transactions by number of calibration transactions. Then judge the supervised churn
    model (see `retain models churn`) on the churn horizon's days up to the holdout end:
    its ROC curve against BG/NBD's and its calibration. PNG charts and an HTML page.
    """
    if holdout_end <= calibration_end:
        fail("the holdout must end after the calibration")
    zone = Settings().store_timezone

    def work(app: App) -> tuple[Quality, ChurnReport | str]:
        analytics = Analytics.from_store(app.url)
        quality = model_quality(analytics, calibration_end.date(), holdout_end.date(), zone)
        try:
            return quality, evaluate_churn_model(analytics, holdout_end.date(), churn_horizon, timezone=zone)
        except FitError as exc:  # the BG/NBD part stands on its own
            return quality, str(exc)

    quality, churn_result = on_store(db, work, REFUSE)
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
    if isinstance(churn_result, ChurnReport):
        _churn_charts(out, churn_result)
    else:  # charts left from an earlier report would contradict this one
        for stale in CHURN_CHARTS:
            (out / stale).unlink(missing_ok=True)
    html = _html(quality, churn_result, calibration_end, holdout_end)
    (out / "report.html").write_text(html, encoding="utf-8")
    console.print(f"Model report written to {out / 'report.html'} (correlation {quality.correlation:.2f}).")
    if isinstance(churn_result, str):
        console.print(f"No churn model section: {churn_result}.")


def _churn_charts(out: Path, result: ChurnReport) -> None:
    days = result.horizon_days
    roc(
        out / CHURN_CHARTS[0],
        {
            f"supervised (AUC {result.auc_model:.3f})": result.roc_model,
            f"BG/NBD (AUC {result.auc_btyd:.3f})": result.roc_btyd,
        },
        f"Who orders again within {days} days: ROC on the holdout",
    )
    calibration(
        out / CHURN_CHARTS[1],
        [predicted for predicted, _, _ in result.calibration],
        [observed for _, observed, _ in result.calibration],
        f"Supervised P(orders again within {days} days) by decile",
    )


def _html(
    q: Quality, churn_result: ChurnReport | str, calibration_end: datetime, holdout_end: datetime
) -> str:
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
        churn=churn_result if isinstance(churn_result, ChurnReport) else None,
        churn_missing=churn_result if isinstance(churn_result, str) else None,
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
