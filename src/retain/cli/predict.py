"""``retain predict``: who will buy again, when, and for how much."""

from __future__ import annotations

import csv
import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import numpy as np
import typer
from rich.table import Table

from retain.analytics.engine import Analytics
from retain.analytics.models.churn import apply_churn_model
from retain.analytics.models.numerics import FitError
from retain.analytics.models.predict import MODEL_VERSION, ChurnChoice, Scores, score_customers
from retain.bootstrap import App
from retain.cli.ui import DbOption, console, fail, on_store
from retain.config import Settings
from retain.domain.metrics import PeriodError
from retain.domain.money import to_decimal
from retain.service.scores import store_scores

FIELDS = (
    "customer_id", "p_alive", "churn_probability", "predicted_orders", "expected_next_order",
    "average_order_value", "average_days_between_orders", "historic_clv", "predicted_clv", "total_clv",
)  # fmt: skip


def predict(
    as_of: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day of history to use (default: today)."),
    ] = None,
    horizon: Annotated[
        int, typer.Option(help="Days ahead for predicted orders and CLV.", min=1, max=3650)
    ] = 365,
    discount_rate: Annotated[
        float, typer.Option(help="Yearly discount rate for predicted CLV.", min=0.0, max=1.0)
    ] = 0.1,
    margin: Annotated[
        float | None,
        typer.Option(help="Gross margin (0-1] for CLV; default RETAIN_GROSS_MARGIN.", min=0.0, max=1.0),
    ] = None,
    churn_model: Annotated[
        bool,
        typer.Option(
            help="Judge the supervised churn model on the latest --churn-horizon days and use it for "
            "churn probability if it ranks them better than BG/NBD."
        ),
    ] = True,
    churn_horizon: Annotated[
        int, typer.Option(help="Days within which a customer orders again, or churns.", min=7)
    ] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="Print every customer's scores as JSON.")] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write every customer's scores to this CSV.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Fit BG/NBD and Gamma-Gamma on the history and store each customer's scores: P(alive),
    churn probability, predicted orders in the horizon, expected next order date, average
    order value and days between orders, historic, predicted and total CLV. Churn
    probability is the chance of no order within the churn horizon: from BG/NBD, or from
    the supervised model (see `retain models churn`) where that ranks the latest days
    better; the command says which and why. Scores replace the previous ones and can be used by
    segments and flows.
    """
    if csv_file is not None and not csv_file.parent.is_dir():
        fail(f"{csv_file}: directory {csv_file.parent} does not exist")
    settings = Settings()

    def work(app: App) -> tuple[Scores, list[dict[str, Any]]]:
        day = as_of.date() if as_of else app.now().date()
        analytics, zone = Analytics.from_store(app.url), settings.store_timezone
        scores = score_customers(
            analytics, day, horizon, discount_rate, margin or settings.gross_margin, zone, churn_horizon
        )
        if churn_model:
            scores = apply_churn_model(scores, analytics, churn_horizon, timezone=zone)
        rows = score_rows(scores)
        store_scores(app.unit_of_work(), rows)
        return scores, rows

    scores, rows = on_store(db, work, (FitError, PeriodError))
    if csv_file is not None:
        with csv_file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(_readable(row, scores.currency) for row in rows)
    if as_json:
        typer.echo(json.dumps([_readable(row, scores.currency) for row in rows]))
        typer.echo(_churn_line(scores.churn_choice), err=True)  # stdout stays plain JSON
        return
    _print(scores, rows)


def score_rows(s: Scores) -> list[dict[str, Any]]:
    def minor(value: float) -> int:
        return round(value)

    return [
        {
            "customer_id": int(s.customer_id[i]),
            "model": s.model,
            "model_version": MODEL_VERSION,
            "as_of": s.as_of,
            "horizon_days": s.horizon_days,
            "p_alive": float(s.p_alive[i]),
            "churn_probability": float(s.churn_probability[i]),
            "predicted_orders": float(s.predicted_orders[i]),
            "expected_next_order": None
            if np.isnat(s.expected_next_order[i])
            else s.expected_next_order[i].item(),
            "average_order_value": minor(s.average_order_value[i]),
            "average_days_between_orders": None
            if math.isnan(s.average_days_between_orders[i])
            else float(s.average_days_between_orders[i]),
            "historic_clv": minor(s.historic_clv[i]),
            "predicted_clv": minor(s.predicted_clv[i]),
            "total_clv": minor(s.total_clv[i]),
            "currency": s.currency,
        }
        for i in range(len(s.customer_id))
    ]


def _day(value: np.datetime64) -> date | None:
    return None if np.isnat(value) else cast(date, value.item())


def _readable(row: dict[str, Any], currency: str) -> dict[str, Any]:
    money = ("average_order_value", "historic_clv", "predicted_clv", "total_clv")
    out = {k: row[k] for k in FIELDS}
    out |= {k: str(to_decimal(row[k], currency)) for k in money}
    out["expected_next_order"] = (
        row["expected_next_order"].isoformat() if row["expected_next_order"] else None
    )
    return out


def _print(scores: Scores, rows: list[dict[str, Any]]) -> None:
    cur = scores.currency
    likely = sum(1 for r in rows if r["p_alive"] >= 0.5)
    total = to_decimal(sum(r["predicted_clv"] for r in rows), cur)
    console.print(
        f"Scored {len(rows):,} customers as of {scores.as_of} ({scores.horizon_days}-day horizon): "
        f"{likely:,} likely active; predicted CLV {total:,} {cur} in all."
    )
    console.print(_churn_line(scores.churn_choice), highlight=False)
    table = Table(title="Highest predicted CLV")
    for column in ("customer", "P(alive)", "orders next", "next order", f"predicted CLV ({cur})"):
        table.add_column(column, justify="right")
    for row in sorted(rows, key=lambda r: -r["predicted_clv"])[:10]:
        table.add_row(
            str(row["customer_id"]),
            f"{row['p_alive']:.0%}",
            f"{row['predicted_orders']:.2f}",
            str(row["expected_next_order"] or "-"),
            f"{to_decimal(row['predicted_clv'], cur):,}",
        )
    console.print(table)


def _churn_line(choice: ChurnChoice) -> str:
    """Which churn probability was stored, and why."""
    days = f"1 - P(orders again within {choice.horizon_days} days)"
    what = f"the supervised model, {days}" if choice.source == "supervised" else f"BG/NBD, {days}"
    return f"Churn probability: {what}; {choice.reason}."
