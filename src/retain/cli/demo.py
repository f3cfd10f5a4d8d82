"""``retain demo`` and ``retain serve``."""

from __future__ import annotations

import gc
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.table import Table
from sqlalchemy import select

from retain import listening
from retain.analytics.insight_cache import refresh_insights
from retain.bootstrap import App, bootstrap
from retain.cli.summary import print_summary
from retain.cli.ui import DbOption, console, fail, progress_bars
from retain.config import Settings, database_url
from retain.domain.money import display_money
from retain.domain.personalization import Brand, BrandError
from retain.domain.surveys import answer
from retain.flows.reader import library
from retain.ingest.directory import read_customers, read_products
from retain.ingest.reader import read_orders
from retain.mailer import load_brand, save_brand
from retain.membership import load_program
from retain.runner import install_library, simulate
from retain.service import access, feedback, loyalty
from retain.service.feedback import Incoming
from retain.service.imports import import_customers, import_orders, import_products
from retain.service.scores import store_scores
from retain.store.queries import store_summary
from retain.store.tables import orders
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
    _run_flows(app, end, out / "outbox")
    _listen(app, seed)  # before the loyalty summary: answers earn bonus points
    _loyalty_summary(app)
    # The dashboard's figures, computed now rather than on the first visit to the overview.
    refresh_insights(app, timezone=Settings().store_timezone, gross_margin=Settings().gross_margin)
    _owner(app)
    if serve:
        _serve(app.url, host, port)


DEMO_FLOW_DAYS = 60
DEMO_BRAND = Brand(
    store_name="Fernwood Coffee",
    sender_name="Fernwood Coffee",
    sender_address="hello@fernwood.example",
    postal_address="12 Mill Lane, Bristol BS1 4DJ, United Kingdom",
    shop_url="https://fernwood.example",
)


DEMO_OWNER = "owner@fernwood.example"


def _owner(app: App) -> None:
    """The demo's admin, with a fresh random password printed this once: no store ships
    with a password anyone could look up."""
    password = access.random_password()
    with app.unit_of_work() as uow:
        exists = uow.access.credentials(DEMO_OWNER) is not None
    if exists:
        access.set_password(app.unit_of_work, DEMO_OWNER, password)
    else:
        access.create_user(app.unit_of_work, DEMO_OWNER, "Store owner", "admin", password, app.now())
    console.print(
        f"Sign in to the dashboard as [bold]{DEMO_OWNER}[/] with the password [bold]{password}[/] "
        "(shown once; `retain users password` makes a new one).",
        highlight=False,
    )


def _run_flows(app: App, end: date, outbox: Path, days: int = DEMO_FLOW_DAYS) -> None:
    """Score customers as they stood ``days`` ago, switch on the library flows, and replay
    those days, so the flows have entered, waited, sent and been measured by the end."""
    from retain.analytics.engine import Analytics
    from retain.analytics.models.predict import score_customers
    from retain.cli.predict import score_rows

    try:
        load_brand(app)
    except BrandError:
        save_brand(app, DEMO_BRAND)
    settings = Settings()
    start = end - timedelta(days=days)
    scores = score_customers(Analytics.from_store(app.url), start, 90, 0.1, None, settings.store_timezone, 90)
    store_scores(app.unit_of_work(), score_rows(scores))
    install_library(app)
    with app.unit_of_work() as uow:
        for name in library():
            if name != "newsletter":  # a campaign the store schedules itself
                uow.flows.set_enabled(name, True, app.now())
        uow.commit()
    with progress_bars() as (sink, _):
        reports = simulate(app, settings, days, outbox, progress=sink)
    entered: dict[str, int] = {}
    for report in reports:
        for name, count in report.planned.entered.items():
            entered[name] = entered.get(name, 0) + count
    sent = sum(r.delivery.sent for r in reports)
    table = Table(title=f"Flows over the last {days} days (retain flows report NAME for each)")
    table.add_column("flow", no_wrap=True)
    table.add_column("customers entered", justify="right")
    for name in sorted(entered):
        table.add_row(name, f"{entered[name]:,}")
    console.print(table)
    console.print(f"{sent:,} e-mails written to {outbox}/ (set RETAIN_SMTP_URL to send).", highlight=False)


def serve(host: HostOption = "127.0.0.1", port: PortOption = 8000, db: DbOption = None) -> None:
    """Serve the dashboard, the API (/api/v1) and the store webhooks on http://HOST:PORT.

    Sign in with a user made by `retain users create`; integrations use `retain keys create`."""
    _serve(database_url(db), host, port)


def _serve(url: str, host: str, port: int) -> None:
    app = bootstrap(url)
    console.print(f"Dashboard on [bold]http://{host}:{port}[/]  (Ctrl-C to stop)")
    web = create_app(app)
    # What start-up built lives as long as the server: keep the collector from scanning it
    # again and again (full collections of it paused requests for 200 ms).
    gc.collect()
    gc.freeze()
    try:
        uvicorn.run(web, host=host, port=port, log_level="warning", access_log=False)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror}", 1)


def _loyalty_summary(app: App) -> None:
    """One line on the loyalty program the flows' days kept up to date."""
    program = load_program(app)
    found = loyalty.report(program, app.unit_of_work)
    tiers = " · ".join(f"{name} {count:,}" for name, count in found.tiers.items())
    worth = display_money(program.worth(found.balance), program.currency)
    console.print(
        f"Loyalty: {found.members:,} members ({tiers}); {found.balance:,} points outstanding, "
        f"worth {worth} (retain loyalty report).",
        highlight=False,
    )


def _listen(app: App, seed: int) -> None:
    """Survey answers and reviews from a few customers over the flows' days, and the
    tickets the unhappy ones opened, handled by three agents, so the feedback report, the
    action plan and the inbox have something to show."""
    from retain.demo.voices import handling, voices
    from retain.feedback.classifier import read_examples

    now = app.now()
    with app.engine.connect() as connection:
        buyers = list(
            connection.scalars(select(orders.c.customer_id).distinct().order_by(orders.c.customer_id))
        )
    examples = [(e.text, e.sentiment) for e in read_examples("train")]
    said = voices(buyers, examples, now, days=DEMO_FLOW_DAYS, seed=seed)
    with progress_bars() as (sink, _):
        for done, voice in enumerate(said, start=1):
            source = "review" if voice.kind == "review" else "survey"
            heard = Incoming(
                f"demo:{voice.kind}:{voice.customer_id}:{voice.at:%Y%m%d%H%M}", source, voice.text,
                voice.customer_id, answer(voice.kind, voice.score, voice.text),
            )  # fmt: skip
            listening.receive(app, heard, voice.at)
            sink("feedback", done, len(said))
    with app.unit_of_work() as uow:
        waiting = [t for t in uow.feedback.tickets(status=["open"], limit=100_000) if t["assignee"] is None]
    for ticket_id, agent, first, solved in handling([t["id"] for t in waiting], seed):
        opened = next(t["created_at"] for t in waiting if t["id"] == ticket_id)
        feedback.assign(app.unit_of_work, ticket_id, agent, "demo", opened)
        if opened + timedelta(hours=first) < now:
            replied = opened + timedelta(hours=first)
            body = "Thank you for telling us. We're looking into it and will put it right."
            feedback.record_reply(
                app.unit_of_work, ticket_id, agent, body, f"demo:reply:{ticket_id}", replied
            )
        if solved is not None and opened + timedelta(hours=solved) < now:
            feedback.resolve(
                app.unit_of_work, ticket_id, "fixed", "", agent, opened + timedelta(hours=solved)
            )
    found = feedback.report(app.unit_of_work)
    nps = "n/a" if found.nps.score is None else f"{found.nps.score:+.0f}"
    with app.unit_of_work() as uow:
        live = len(uow.feedback.tickets(status=["open", "pending"], limit=100_000))
    console.print(
        f"Feedback: {len(said):,} answers and reviews, NPS {nps}; tickets waiting: {live:,} "
        "(retain feedback report, retain tickets list).",
        highlight=False,
    )
