"""``retain import``: load a store's history from files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from retain.bootstrap import App, bootstrap
from retain.cli.ui import EXIT_BAD_INPUT, DbOption, console, database_problem, errors, fail, progress_bars
from retain.domain.imports import ImportResult
from retain.domain.money import CURRENCY_EXPONENTS
from retain.ingest.directory import read_customers, read_products
from retain.ingest.files import ImportFileError
from retain.ingest.generic import parse_mapping
from retain.ingest.reader import Format, ReadOptions, read_orders, write_rejects
from retain.service.batch import ParsedFile
from retain.service.imports import InvalidRowsError, import_customers, import_orders, import_products
from retain.store.queries import store_currency

app = typer.Typer(
    help="Import order history, customers and the product catalog from files.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)

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


SkipOption = Annotated[bool, typer.Option(help="Import the valid rows, skip invalid ones.")]
RejectsOption = Annotated[
    Path | None, typer.Option(help="With --skip-invalid: write rejected rows and reasons to this CSV.")
]
FileArgument = Annotated[Path, typer.Argument(help="The file to import.", show_default=False)]


@app.command("orders", help=ORDERS_HELP)
def orders_command(
    file: FileArgument,
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
    skip_invalid: SkipOption = False,
    rejects: RejectsOption = None,
    db: DbOption = None,
) -> None:
    options = _options(mapping or [], date_format, timezone, currency, delimiter, skip_invalid, rejects)
    _run(
        file,
        db,
        rejects,
        lambda app_: read_orders(file, fmt, options),
        lambda app_, parsed, sinks: import_orders(
            parsed, app_.unit_of_work(), skip_invalid=skip_invalid, now=app_.now(), **sinks
        ),
    )


DateFormatOption = Annotated[
    str | None, typer.Option(help="strftime format of dates, e.g. %d/%m/%Y (default: detected).")
]


@app.command("customers")
def customers_command(
    file: FileArgument,
    date_format: DateFormatOption = None,
    skip_invalid: SkipOption = False,
    rejects: RejectsOption = None,
    db: DbOption = None,
) -> None:
    """Create or enrich customers from a customer file (Shopify's customer export or any CSV).

    Rows are matched to known customers by customer id, else by e-mail. Known columns fill
    the profile: name (or first and last name), phone, birthday, timezone, accepts_marketing,
    created_at. Every other column is kept as a customer attribute, such as a preference the
    customer shared with you. Empty cells never erase what is known. Marketing consent in
    the file is taken as the customer's current choice.
    """
    _check_rejects(skip_invalid, rejects)
    _run(
        file,
        db,
        rejects,
        lambda app_: read_customers(file, date_format),
        lambda app_, parsed, sinks: import_customers(
            parsed, app_.unit_of_work(), app_.now(), skip_invalid=skip_invalid, **sinks
        ),
    )


@app.command("products")
def products_command(
    file: FileArgument,
    currency: Annotated[
        str | None,
        typer.Option(help="Currency of the prices (default: the currency of your imported orders)."),
    ] = None,
    skip_invalid: SkipOption = False,
    rejects: RejectsOption = None,
    db: DbOption = None,
) -> None:
    """Load the catalog: titles, categories and prices (Shopify's product export or any CSV).

    Products are matched by SKU (or by title when they have none), the same key order lines
    use. Shopify's product Type is the category.
    """
    _check_rejects(skip_invalid, rejects)
    if currency is not None and currency.upper() not in CURRENCY_EXPONENTS:
        fail(f"--currency {currency!r} is not an ISO 4217 currency code like USD")

    def read(app_: App) -> ParsedFile[pl.DataFrame]:
        chosen = currency.upper() if currency else store_currency(app_.engine)
        if chosen is None:
            fail("no orders imported yet to take the currency from; pass --currency, e.g. --currency USD")
        return read_products(file, chosen)

    _run(
        file,
        db,
        rejects,
        read,
        lambda app_, parsed, sinks: import_products(
            parsed, app_.unit_of_work(), skip_invalid=skip_invalid, **sinks
        ),
    )


def _run(
    file: Path,
    db: str | None,
    rejects: Path | None,
    read: Callable[[App], ParsedFile[Any]],
    write: Callable[[App, ParsedFile[Any], dict[str, Any]], ImportResult],
) -> None:
    """Read, then write in one transaction, with progress bars and one-line errors."""
    app_ = _bootstrap(db)
    sinks: dict[str, Any] = {
        "write_rejects": (lambda frame: write_rejects(frame, rejects)) if rejects else None
    }
    try:
        with progress_bars() as (sink, bars):
            reading = bars.add_task(f"reading {file.name}", total=None)
            parsed = read(app_)
            bars.update(reading, total=1, completed=1)
            result = write(app_, parsed, sinks | {"progress": sink})
    except ImportFileError as exc:
        fail(str(exc))
    except InvalidRowsError as exc:
        _report_invalid(file, exc)
    except SQLAlchemyError as exc:
        fail(f"database error, nothing was imported: {database_problem(exc)}", 1)
    finally:
        app_.close()
    _report(file, result, rejects)


def _check_rejects(skip_invalid: bool, rejects: Path | None) -> None:
    if rejects is not None and not skip_invalid:
        fail("--rejects only makes sense with --skip-invalid")
    if rejects is not None and not rejects.parent.is_dir():
        fail(f"--rejects {rejects}: directory {rejects.parent} does not exist")


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
    _check_rejects(skip_invalid, rejects)
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
    if result.format not in ("customers", "products"):
        table.add_row("orders", f"{c.orders_created:,}", f"{c.orders_updated:,}", f"{c.orders_unchanged:,}")
    table.add_row("customers", f"{c.customers_created:,}", f"{c.customers_updated:,}", "")
    table.add_row("products", f"{c.products_created:,}", f"{c.products_updated:,}", "")
    console.print(table)
    lines = f", {c.lines_written:,} order lines written" if c.lines_written else ""
    codes = f", {c.codes_redeemed:,} discount codes redeemed" if c.codes_redeemed else ""
    console.print(f"{result.rows_read:,} rows read{lines}{codes}.")
    if result.rows_rejected:
        where = f"; see {rejects}" if rejects else ""
        console.print(f"[yellow]{result.rows_rejected:,} rows rejected{where}.[/]")
