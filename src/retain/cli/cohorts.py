"""``retain cohorts``: who keeps buying, by the month or quarter of their first order."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from retain.analytics.cohorts import cohort_table
from retain.analytics.engine import Analytics
from retain.cli.charts import heatmap
from retain.cli.ui import DbOption, console, fail, on_store
from retain.config import Settings
from retain.domain.cohorts import CohortMetric, CohortTable, Grain
from retain.domain.money import to_decimal

SCREEN_PERIODS = 12


def cohorts(
    by: Annotated[Grain, typer.Option("--by", help="Cohort and period length.")] = "month",
    metric: Annotated[
        CohortMetric,
        typer.Option(
            help="customers: share of the cohort ordering in each period; revenue: its net revenue."
        ),
    ] = "customers",
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole triangle as JSON.")] = False,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the triangle to this CSV file.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Also save a heatmap of the triangle as this PNG file.")
    ] = None,
    db: DbOption = None,
) -> None:
    """The retention triangle: customers grouped by the month (or quarter) of their first
    order, and the share of each group that orders again in every later period (or the
    revenue it brings). Periods follow the store's time zone (RETAIN_STORE_TIMEZONE).
    """
    for target in (csv_file, plot):
        if target is not None and not target.parent.is_dir():
            fail(f"{target}: directory {target.parent} does not exist")
    table = on_store(
        db, lambda app: cohort_table(Analytics.from_store(app.url), by, Settings().store_timezone)
    )
    grid = _grid(table, metric)
    if csv_file is not None:
        _write_csv(csv_file, table, grid)
    if plot is not None:
        fmt = ".0%" if metric == "customers" else ",.0f"
        labels = [str(r[0]) for r in grid]
        heatmap(plot, labels, [[float(v) for v in r[2:]] for r in grid], _title(table, metric), fmt)
    if as_json:
        typer.echo(json.dumps(_json(table, metric, grid)))
    elif csv_file is None and plot is None:
        _print(table, metric, grid)
    else:
        console.print(f"{len(grid)} cohorts written" + "".join(f" to {p}" for p in (csv_file, plot) if p))


def _grid(table: CohortTable, metric: CohortMetric) -> list[list[str | int | float]]:
    """Rows of [label, size, value per period]; revenue in the currency's major unit."""
    rows: list[list[str | int | float]] = []
    for cohort in table.cohorts:
        values = table.values(metric, cohort)
        if metric == "revenue":
            values = tuple(float(to_decimal(int(v), table.currency)) for v in values)
        rows.append([table.label(cohort.start), cohort.size, *values])
    return rows


def _title(table: CohortTable, metric: CohortMetric) -> str:
    what = "share of cohort ordering" if metric == "customers" else f"revenue ({table.currency})"
    return f"Cohorts by {table.grain}: {what}"


def _json(table: CohortTable, metric: CohortMetric, grid: list[list[str | int | float]]) -> dict[str, object]:
    return {
        "by": table.grain,
        "metric": metric,
        "currency": table.currency,
        "cohorts": [{"cohort": r[0], "size": r[1], "values": r[2:]} for r in grid],
    }


def _write_csv(path: Path, table: CohortTable, grid: list[list[str | int | float]]) -> None:
    width = max(len(r) for r in grid) - 2
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cohort", "size", *(f"period_{k}" for k in range(width))])
        writer.writerows(grid)


def _print(table: CohortTable, metric: CohortMetric, grid: list[list[str | int | float]]) -> None:
    cell = 5 if metric == "customers" else 11
    periods = max(3, min(SCREEN_PERIODS, (console.width - 22) // (cell + 3)))
    out = Table(
        title=_title(table, metric), caption=f"periods 0-{periods - 1} shown; --json or --csv for all"
    )
    out.add_column("cohort", no_wrap=True)
    out.add_column("size", justify="right", no_wrap=True)
    for k in range(periods):
        out.add_column(str(k), justify="right", no_wrap=True)
    for row in grid[-SCREEN_PERIODS * 2 :]:
        cells = [f"{v:.0%}" if metric == "customers" else f"{v:,.0f}" for v in row[2 : 2 + periods]]
        out.add_row(str(row[0]), f"{row[1]:,}", *cells)
    console.print(out)
