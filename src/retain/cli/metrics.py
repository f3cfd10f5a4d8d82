"""``retain metrics``: are we keeping our customers?"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated

import typer
from rich.table import Table

from retain.analytics.engine import Analytics
from retain.analytics.metrics import period_metrics
from retain.bootstrap import App
from retain.cli.ui import DbOption, console, on_store
from retain.config import Settings
from retain.domain.metrics import DEFAULT_ACTIVITY_WINDOW_DAYS, Period, PeriodMetrics
from retain.domain.money import exponent

HELP = "\n\n".join(
    [
        (
            "Retention metrics for the days START to END (both included, in the store's time zone, "
            "RETAIN_STORE_TIMEZONE)."
        ),
        (
            "A customer is *active* at an instant if their last non-cancelled order is no older than the "
            "activity window. S = customers active at the start of START, E = active at the end of END, N "
            "= customers whose first order is in the period and who are active at the end. Retention rate "
            "= (E - N) / S; churn rate = 1 - retention. Cohort retention = share of the S customers still "
            "active at the end (it leaves out customers who came back after lapsing)."
        ),
        (
            "Orders and revenue count non-cancelled orders in the period, net of refunds. Average order "
            "value = revenue / orders; purchase frequency = orders per customer who ordered; repeat "
            "purchase rate = share of customers with 2+ orders up to the end; repeat purchase ratio = "
            "customers who ordered in the period and had ordered before it / all who ordered in it. "
            "Historical CLV = average order value x orders per year x lifespan in years, lifespan = 1 / "
            "yearly churn; times the gross margin when RETAIN_GROSS_MARGIN or --margin is set."
        ),
    ]
)


def metrics(
    start: Annotated[datetime, typer.Option("--start", formats=["%Y-%m-%d"], help="First day, YYYY-MM-DD.")],
    end: Annotated[datetime, typer.Option("--end", formats=["%Y-%m-%d"], help="Last day, YYYY-MM-DD.")],
    activity_window: Annotated[
        int, typer.Option(help="Days since the last order within which a customer is active.", min=1)
    ] = DEFAULT_ACTIVITY_WINDOW_DAYS,
    margin: Annotated[
        float | None,
        typer.Option(help="Gross margin (0-1] for CLV; default RETAIN_GROSS_MARGIN.", min=0.0, max=1.0),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    db: DbOption = None,
) -> None:
    settings = Settings()

    def work(app: App) -> PeriodMetrics:
        period = Period(start.date(), end.date(), settings.store_timezone)
        period.check_not_future(app.now())
        return period_metrics(
            Analytics.from_store(app.url), period, activity_window, margin or settings.gross_margin
        )

    result = on_store(db, work)
    if as_json:
        typer.echo(json.dumps(metrics_json(result)))
    else:
        print_metrics(result)


metrics.__doc__ = HELP


def _money(minor: Decimal | int | None, currency: str) -> str | None:
    if minor is None:
        return None
    places = Decimal(1).scaleb(-exponent(currency))
    return str(Decimal(minor).scaleb(-exponent(currency)).quantize(places, ROUND_HALF_EVEN))


def metrics_json(m: PeriodMetrics) -> dict[str, object]:
    cur = m.currency
    return {
        "start": m.period.start.isoformat(),
        "end": m.period.end.isoformat(),
        "activity_window_days": m.activity_window_days,
        "currency": cur,
        "customers_start": m.customers_start,
        "customers_end": m.customers_end,
        "new_customers": m.new_customers,
        "new_customers_active": m.new_customers_active,
        "retention_rate": m.retention_rate,
        "churn_rate": m.churn_rate,
        "cohort_retention": m.cohort_retention,
        "orders": m.orders,
        "revenue": _money(m.revenue, cur),
        "revenue_new_customers": _money(m.revenue_new, cur),
        "revenue_returning_customers": _money(m.revenue_returning, cur),
        "average_order_value": _money(m.average_order_value, cur),
        "purchase_frequency": m.purchase_frequency,
        "repeat_purchase_rate": m.repeat_purchase_rate,
        "repeat_purchase_ratio": m.repeat_purchase_ratio,
        "median_days_between_orders": m.median_days_between_orders,
        "average_lifespan_years": m.lifespan_years,
        "historical_clv": _money(m.historical_clv, cur),
        "gross_margin": m.gross_margin,
    }


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def print_metrics(m: PeriodMetrics) -> None:
    data = metrics_json(m)
    cur = m.currency
    revenue = (
        f"{data['revenue']} ({data['revenue_new_customers']} / {data['revenue_returning_customers']}) {cur}"
    )
    frequency = "n/a" if m.purchase_frequency is None else f"{m.purchase_frequency:.2f}"
    gap = "n/a" if m.median_days_between_orders is None else f"{m.median_days_between_orders:.1f}"
    table = Table(title=f"Retention {m.period.start} to {m.period.end} ({m.activity_window_days}-day window)")
    table.add_column("metric", style="bold")
    table.add_column("value", justify="right")
    for label, value in (
        ("Customers active at start (S)", f"{m.customers_start:,}"),
        ("Customers active at end (E)", f"{m.customers_end:,}"),
        ("New customers (still active: N)", f"{m.new_customers:,} ({m.new_customers_active:,})"),
        ("Retention rate (E - N) / S", _rate(m.retention_rate)),
        ("Churn rate", _rate(m.churn_rate)),
        ("Cohort retention", _rate(m.cohort_retention)),
        ("Orders", f"{m.orders:,}"),
        ("Revenue (new / returning)", revenue),
        ("Average order value", f"{data['average_order_value'] or 'n/a'} {cur}"),
        ("Purchase frequency", frequency),
        ("Repeat purchase rate", _rate(m.repeat_purchase_rate)),
        ("Repeat purchase ratio", _rate(m.repeat_purchase_ratio)),
        ("Median days between orders", gap),
        ("Historical CLV", f"{data['historical_clv'] or 'n/a'} {cur}"),
    ):  # fmt: skip
        table.add_row(label, value)
    console.print(table)
