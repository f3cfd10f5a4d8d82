"""``retain summary``: the store at a glance."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from retain.cli.ui import DbOption, console, on_store
from retain.domain.money import to_decimal
from retain.domain.summary import StoreSummary
from retain.store.queries import store_summary


def summary(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    db: DbOption = None,
) -> None:
    """Customers, orders, net revenue and the date range of the imported history."""
    result = on_store(db, lambda app: store_summary(app.engine))
    if as_json:
        typer.echo(json.dumps(summary_json(result)))
    else:
        print_summary(result)


def summary_json(s: StoreSummary) -> dict[str, object]:
    return {
        "customers": s.customers,
        "orders": s.orders,
        "revenue": {c: str(to_decimal(v, c)) for c, v in s.revenue.items()},
        "first_order_at": s.first_order_at.isoformat() if s.first_order_at else None,
        "last_order_at": s.last_order_at.isoformat() if s.last_order_at else None,
    }


def print_summary(s: StoreSummary) -> None:
    table = Table(title="Store summary", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("Customers", f"{s.customers:,}")
    table.add_row("Orders", f"{s.orders:,}")
    table.add_row("Revenue (net of refunds)", s.revenue_text)
    table.add_row("Date range", s.date_range_text)
    console.print(table)
