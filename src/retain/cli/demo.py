"""``retain demo`` and ``retain serve``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from retain.bootstrap import App, bootstrap
from retain.cli.summary import print_summary
from retain.cli.ui import DbOption, console, fail, progress_bars
from retain.config import Settings, database_url
from retain.domain.personalization import Brand, BrandError
from retain.ingest.directory import read_customers, read_products
from retain.ingest.reader import read_orders
from retain.mailer import load_brand, save_brand, send
from retain.service.imports import import_customers, import_orders, import_products
from retain.service.outreach import Campaign
from retain.store.queries import store_summary
from retain.web.app import create_app

DEMO_DB = "sqlite:///retain-demo.db"
DEMO_CURRENCY = "USD"  # the generated store's prices

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)]


def demo(
    customers: Annotated[
        int, typer.Option(help="Customers in the synthetic store.", min=1, max=1_000_000)
    ] = 5000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same store.")] = 7,
    out: Annotated[Path, typer.Option(help="Folder for the generated export files.")] = Path("demo-store"),
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the dashboard afterwards.")] = True,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    db: Annotated[
        str | None, typer.Option("--db", help=f"Database for the demo store. Default: {DEMO_DB}.")
    ] = None,
) -> None:
    """Generate a believable synthetic store, import it as real exports, show the summary.

    The store's product export, Shopify-format order export and customer file go through
    the same importers as your own files (`retain import products|orders|customers`).
    Running the demo again re-imports the same files and changes nothing.
    """
    from retain.demo.generator import generate_store  # numpy is only needed here

    app = bootstrap(db or DEMO_DB)
    with progress_bars() as (sink, bars):
        making = bars.add_task(f"generating {customers:,} customers", total=None)
        # The history ends just before now, so recency, churn and segments look like a live
        # store's; two days back, because the store's evening orders fall on the next UTC day.
        end = app.now().date() - timedelta(days=2)
        store = generate_store(
            out, customers=customers, seed=seed, start=end - timedelta(days=3 * 365), end=end
        )
        bars.update(making, total=1, completed=1)
        # The same readers and use cases as `retain import products|orders|customers`.
        import_products(read_products(store.products_csv, DEMO_CURRENCY), app.unit_of_work(), progress=sink)
        import_orders(read_orders(store.orders_csv, "shopify"), app.unit_of_work(), progress=sink)
        import_customers(read_customers(store.customers_csv), app.unit_of_work(), app.now(), progress=sink)
    console.print(
        f"Generated and imported {store.products_csv.name}, {store.orders_csv.name} "
        f"({store.line_items:,} line items) and {store.customers_csv.name} from {out}/."
    )
    print_summary(store_summary(app.engine))
    _thank_recent_buyers(app, end, out / "outbox")
    if serve:
        _serve(app.url, host, port)


DEMO_BRAND = Brand(
    store_name="Fernwood Coffee",
    sender_name="Fernwood Coffee",
    sender_address="hello@fernwood.example",
    postal_address="12 Mill Lane, Bristol BS1 4DJ, United Kingdom",
    shop_url="https://fernwood.example",
)


def _thank_recent_buyers(app: App, end: date, outbox: Path) -> None:
    """Thank the customers of the last week, as the thank-you flow would: into the outbox,
    or through RETAIN_SMTP_URL when it is set."""
    try:
        load_brand(app)
    except BrandError:
        save_brand(app, DEMO_BRAND)
    since = datetime.combine(end - timedelta(days=6), time.min, tzinfo=UTC)
    with app.unit_of_work() as uow:
        buyers = uow.outreach.recent_buyers(since)
    with progress_bars() as (sink, _):
        report = send(
            app, Campaign(f"demo-thank-you-{end:%Y%m%d}", "thank_you"), buyers, outbox, progress=sink
        )
    where = (
        "through RETAIN_SMTP_URL" if Settings().smtp_url else f"into {outbox}/ (set RETAIN_SMTP_URL to send)"
    )
    console.print(
        f"Thanked {report.sent:,} customers of the last week {where}"
        + (f"; {report.already_sent:,} were thanked before" if report.already_sent else "")
        + (f"; {report.total_skipped:,} skipped" if report.total_skipped else "")
        + ".",
        highlight=False,
    )


def serve(host: HostOption = "127.0.0.1", port: PortOption = 8000, db: DbOption = None) -> None:
    """Serve the dashboard on http://HOST:PORT."""
    _serve(database_url(db), host, port)


def _serve(url: str, host: str, port: int) -> None:
    app = bootstrap(url)
    console.print(f"Dashboard on [bold]http://{host}:{port}[/]  (Ctrl-C to stop)")
    try:
        uvicorn.run(create_app(app), host=host, port=port, log_level="warning")
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", 1)
