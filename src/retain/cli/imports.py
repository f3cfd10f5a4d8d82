"""``retain import``: load a store's history from files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from retain.bootstrap import App, bootstrap
from retain.cli.ui import EXIT_BAD_INPUT, DbOption, console, database_problem, errors, fail, progress_bars
from retain.domain.imports import ImportResult
from retain.domain.money import CURRENCY_EXPONENTS
from retain.ingest.files import ImportFileError
from retain.ingest.generic import parse_mapping
from retain.ingest.reader import Format, ReadOptions, read_orders, write_rejects
from retain.service.imports import InvalidRowsError, import_orders

app = typer.Typer(help="Import order history from files.", no_args_is_help=True, rich_markup_mode="markdown")

ORDERS_HELP = "\n\n".join(
    [
        (
            "Import order history from FILE. Importing the same file again changes nothing; an updated "
            "export updates the orders that changed (status, refunds, cancellations)."
        ),
        ("Formats, detected from the header unless --format is given:"),
        (
            "* **shopify**: Shopify's order export (one row per line item, grouped by Name; customers "
            "identified by Email)."
        ),
        (
            "* **csv**: any CSV of orders or order lines. Columns are recognised by common names; map "
            "others with --map FIELD=COLUMN, e.g. `--map customer_id=Id --map placed_at=Date --map "
            "total=Price`. Fields: order_key, customer_id, email, name, phone, accepts_marketing, "
            "placed_at, total, subtotal, discounts, shipping, tax, refunded, currency, financial_status, "
            "paid_at, cancelled_at, discount_codes, tags, source, item_count, sku, title, category, "
            "quantity, unit_price, line_discount."
        ),
        ("* **cdnow**: the CDNOW data set (master file or its 1/10 sample)."),
        (
            "A file with invalid rows is refused as a whole (exit status 2) with each bad row's line and "
            "reason, and nothing is written, unless --skip-invalid is given: then the valid orders are "
            "imported and the rejected rows, with their reasons, can be written to --rejects FILE."
        ),
    ]
)


@app.command("orders", help=ORDERS_HELP)
def orders_command(
    file: Annotated[Path, typer.Argument(help="The file to import.", show_default=False)],
    fmt: Annotated[Format, typer.Option("--format", "-f", help="File format.")] = "auto",
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="FIELD=COLUMN for the csv format (repeatable).")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option(help="strftime format of dates, e.g. %d/%m/%Y (default: detected).")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Time zone of timestamps that carry no offset.")] = "UTC",
    currency: Annotated[
        str | None, typer.Option(help="Currency when the file has no currency column.")
    ] = None,
    delimiter: Annotated[str | None, typer.Option(help="Field delimiter (default: detected).")] = None,
    skip_invalid: Annotated[bool, typer.Option(help="Import the valid orders, skip invalid rows.")] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="With --skip-invalid: write rejected rows and reasons to this CSV.")
    ] = None,
    db: DbOption = None,
) -> None:
    options = _options(mapping or [], date_format, timezone, currency, delimiter, skip_invalid, rejects)
    app_ = _bootstrap(db)
    try:
        with progress_bars() as (sink, bars):
            reading = bars.add_task(f"reading {file.name}", total=None)
            parsed = read_orders(file, fmt, options)
            bars.update(reading, total=1, completed=1)
            result = import_orders(
                parsed,
                app_.unit_of_work(),
                skip_invalid=skip_invalid,
                write_rejects=(lambda frame: write_rejects(frame, rejects)) if rejects else None,
                progress=sink,
            )
    except ImportFileError as exc:
        fail(str(exc))
    except InvalidRowsError as exc:
        _report_invalid(file, exc)
    except SQLAlchemyError as exc:
        fail(f"database error, nothing was imported: {database_problem(exc)}", 1)
    _report(file, result, rejects)


def _options(
    mapping: list[str],
    date_format: str | None,
    timezone: str,
    currency: str | None,
    delimiter: str | None,
    skip_invalid: bool,
    rejects: Path | None,
) -> ReadOptions:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        fail(f"--timezone {timezone!r} is not a time zone name like Europe/Paris or UTC")
    if currency is not None and currency.upper() not in CURRENCY_EXPONENTS:
        fail(f"--currency {currency!r} is not an ISO 4217 currency code like USD")
    if rejects is not None and not skip_invalid:
        fail("--rejects only makes sense with --skip-invalid")
    if rejects is not None and not rejects.parent.is_dir():
        fail(f"--rejects {rejects}: directory {rejects.parent} does not exist")
    if delimiter is not None and len(delimiter) != 1:
        fail("--delimiter must be a single character")
    try:
        parsed_mapping = parse_mapping(mapping)
    except ImportFileError as exc:
        fail(str(exc))
    return ReadOptions(
        mapping=parsed_mapping,
        date_format=date_format,
        timezone=timezone,
        currency=currency.upper() if currency else None,
        delimiter=delimiter,
    )


def _bootstrap(db: str | None) -> App:
    try:
        return bootstrap(db)
    except SQLAlchemyError as exc:
        fail(f"cannot open the database: {database_problem(exc)}", 1)


def _report_invalid(file: Path, exc: InvalidRowsError) -> None:
    errors.print(
        f"[bold red]error:[/] {file}: {exc.total} invalid row(s); nothing was imported.", highlight=False
    )
    for error in exc.errors:
        errors.print(f"  line {error.line}: {error.reason}", highlight=False, markup=False)
    if exc.total > len(exc.errors):
        errors.print(f"  ... and {exc.total - len(exc.errors)} more", highlight=False)
    errors.print("Fix them, or pass --skip-invalid [--rejects rejects.csv] to import the valid orders.")
    raise typer.Exit(EXIT_BAD_INPUT)


def _report(file: Path, result: ImportResult, rejects: Path | None) -> None:
    c = result.counts
    table = Table(title=f"Imported {file.name} ({result.format})", show_header=True)
    table.add_column("")
    table.add_column("created", justify="right")
    table.add_column("updated", justify="right")
    table.add_column("unchanged", justify="right")
    table.add_row("orders", f"{c.orders_created:,}", f"{c.orders_updated:,}", f"{c.orders_unchanged:,}")
    table.add_row("customers", f"{c.customers_created:,}", f"{c.customers_updated:,}", "")
    table.add_row("products", f"{c.products_created:,}", "", "")
    console.print(table)
    console.print(f"{result.rows_read:,} rows read, {c.lines_written:,} order lines written.")
    if result.rows_rejected:
        where = f"; see {rejects}" if rejects else ""
        console.print(f"[yellow]{result.rows_rejected:,} rows rejected{where}.[/]")
