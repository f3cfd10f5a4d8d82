"""``retain flows`` and ``retain worker``: the lifecycle programs, run, capped and measured."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table

from retain.bootstrap import App
from retain.cli.ui import DbOption, console, fail, on_store, progress_bars
from retain.config import Settings
from retain.domain.flows import FlowError
from retain.domain.lift import Lift, lift
from retain.domain.personalization import BrandError
from retain.flows.reader import flow_to_dict, load_flow
from retain.mailer import load_templates
from retain.messaging.templating import TemplateError
from retain.runner import TickReport, install_library, run_worker, simulate, stored_flows

app = typer.Typer(
    help="Lifecycle flows: thank-yous, nudges, reminders, win-backs, anniversaries and more, "
    "run every day by `retain worker`, capped so nobody is overwhelmed, each with a holdout "
    "that measures what it earns.",
    no_args_is_help=True,
)
REFUSED = (FlowError, TemplateError, BrandError, ValueError)
STATES = ("active", "completed", "exited", "holdout")
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _flows(app_: App) -> dict[str, Any]:
    install_library(app_)
    return stored_flows(app_)


@app.command("list")
def list_flows(as_json: JsonOption = False, db: DbOption = None) -> None:
    """The store's flows (Retain's library is added, disabled, on first use) with their runs."""

    def work(app_: App) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
        found = _flows(app_)
        with app_.unit_of_work() as uow:
            return found, uow.flows.counts()

    found, counts = on_store(db, work, REFUSED)
    rows = [
        {
            "name": name, "title": flow.title, "enabled": enabled, "trigger": flow.trigger.kind,
            **{state: counts.get(name, {}).get(state, 0) for state in STATES},
        }
        for name, (flow, enabled) in sorted(found.items())
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows))
        return
    table = Table(title="Flows")
    for column in ("name", "enabled", "trigger", "active", "completed", "exited", "holdout"):
        table.add_column(
            column, justify="right" if column in ("active", "completed", "exited", "holdout") else "left"
        )
    for row in rows:
        table.add_row(
            row["name"], "yes" if row["enabled"] else "no", row["trigger"],
            *(f"{row[s]:,}" for s in ("active", "completed", "exited", "holdout")),
        )  # fmt: skip
    console.print(table)


@app.command()
def show(name: Annotated[str, typer.Argument(help="Flow name.")], db: DbOption = None) -> None:
    """A flow's definition, as YAML-ready JSON."""
    found = on_store(db, _flows, REFUSED)
    if name not in found:
        fail(f"no flow {name!r}; see `retain flows list`")
    flow, enabled = found[name]
    typer.echo(json.dumps({"enabled": enabled, **flow_to_dict(flow)}, indent=2, default=str))


def _switch(name: str, enabled: bool, db: str | None) -> None:
    def work(app_: App) -> bool:
        _flows(app_)
        with app_.unit_of_work() as uow:
            done = uow.flows.set_enabled(name, enabled, app_.now())
            uow.commit()
        return done

    if not on_store(db, work, REFUSED):
        fail(f"no flow {name!r}; see `retain flows list`")
    console.print(f"Flow [bold]{name}[/] {'enabled' if enabled else 'disabled'}.", highlight=False)


@app.command()
def enable(name: Annotated[str, typer.Argument(help="Flow name.")], db: DbOption = None) -> None:
    """Start running a flow (from the next `retain worker` tick)."""
    _switch(name, True, db)


@app.command()
def disable(name: Annotated[str, typer.Argument(help="Flow name.")], db: DbOption = None) -> None:
    """Stop a flow: nobody new enters, and runs under way pause until it is enabled again."""
    _switch(name, False, db)


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="A flow in YAML or JSON.")], db: DbOption = None
) -> None:
    """Check a flow file; every problem is printed with its line."""
    if not file.is_file():
        fail(f"{file}: no such file")
    names = set(on_store(db, lambda app_: load_templates(app_).all, REFUSED))
    try:
        flow = load_flow(file, templates=names)
    except FlowError as exc:
        fail(str(exc))
    console.print(f"{file}: flow [bold]{flow.name}[/] is valid ({len(flow.steps)} steps).", highlight=False)


@app.command()
def add(file: Annotated[Path, typer.Argument(help="A flow in YAML or JSON.")], db: DbOption = None) -> None:
    """Add (or replace) a flow of the store's own, disabled until `retain flows enable`."""
    if not file.is_file():
        fail(f"{file}: no such file")

    def work(app_: App) -> str:
        flow = load_flow(file, templates=set(load_templates(app_).all))
        with app_.unit_of_work() as uow:
            uow.flows.save(flow.name, flow_to_dict(flow), app_.now())
            uow.commit()
        return flow.name

    name = on_store(db, work, REFUSED)
    console.print(
        f"Flow [bold]{name}[/] saved; enable it with `retain flows enable {name}`.", highlight=False
    )


@app.command()
def report(
    name: Annotated[str, typer.Argument(help="Flow name.")],
    window_days: Annotated[int, typer.Option(help="Days after entering in which orders count.", min=1)] = 30,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Treated entrants against the holdout: conversion, orders and revenue per customer,
    the difference with a 95% interval, and the sample sizes."""

    def work(app_: App) -> tuple[Lift, dict[str, int], int]:
        if name not in _flows(app_):
            raise ValueError(f"no flow {name!r}; see `retain flows list`")
        with app_.unit_of_work() as uow:
            found = lift(
                uow.flows.entries(name), uow.flows.orders_of_entrants(name), timedelta(days=window_days)
            )
            return found, uow.flows.counts().get(name, {}), uow.flows.skipped_by_cap().get(name, 0)

    found, counts, capped = on_store(db, work, REFUSED)
    if as_json:
        typer.echo(json.dumps({"flow": name, "runs": counts, "skipped_by_cap": capped, **asdict(found)}))
        return
    console.print(
        f"[bold]{name}[/]: runs {', '.join(f'{k} {v:,}' for k, v in sorted(counts.items())) or 'none yet'}; "
        f"{capped:,} messages skipped by the communication calendar.",
        highlight=False,
    )
    table = Table(title=f"Within {found.window_days} days of entering")
    for column in ("", "customers", "conversion", "orders / customer", "revenue / customer"):
        table.add_column(column, justify="right" if column else "left")
    for label, arm in (("treated", found.treated), ("holdout", found.holdout)):
        table.add_row(
            label, f"{arm.customers:,}", f"{arm.conversion:.1%}", f"{arm.orders_per_customer:.3f}",
            f"{arm.revenue_per_customer / 100:,.2f}",
        )  # fmt: skip
    if found.conversion and found.orders and found.revenue:
        c, o, r = found.conversion, found.orders, found.revenue
        table.add_row(
            "difference (95% CI)",
            "",
            f"{c.value:+.1%} ({c.low:+.1%} to {c.high:+.1%})",
            f"{o.value:+.3f} ({o.low:+.3f} to {o.high:+.3f})",
            f"{r.value / 100:+,.2f} ({r.low / 100:+,.2f} to {r.high / 100:+,.2f})",
        )
    console.print(table)


@app.command("simulate")
def simulate_command(
    days: Annotated[int, typer.Option(help="Days of the store's history to replay.", min=1, max=3650)] = 365,
    outbox: Annotated[Path, typer.Option(help="Folder for the simulated e-mails.")] = Path(
        "outbox-simulated"
    ),
    db: DbOption = None,
) -> None:
    """Replay the store's last DAYS days with the enabled flows running, a day at a time:
    orders become events as the clock passes them, runs wait and act, and messages go to
    --outbox (never to an SMTP server)."""

    def work(app_: App) -> list[TickReport]:
        install_library(app_)
        with progress_bars() as (sink, _):
            return simulate(app_, Settings(), days, outbox, progress=sink)

    reports = on_store(db, work, REFUSED)
    entered = sum(sum(r.planned.entered.values()) for r in reports)
    held = sum(sum(r.planned.held_out.values()) for r in reports)
    sent = sum(r.delivery.sent for r in reports)
    skipped = sum(r.delivery.total_skipped for r in reports)
    console.print(
        f"Replayed {days} days: {entered:,} runs started ({held:,} held out), "
        f"{sum(r.advanced for r in reports):,} steps taken, {sent:,} messages into {outbox}/, "
        f"{skipped:,} skipped. See `retain flows list` and `retain flows report NAME`.",
        highlight=False,
    )


def worker(
    interval: Annotated[float, typer.Option(help="Seconds between rounds.", min=0.1)] = 30.0,
    once: Annotated[bool, typer.Option(help="Run one round and stop.")] = False,
    outbox: Annotated[
        Path, typer.Option(help="Folder of .eml files, used when RETAIN_SMTP_URL is not set.")
    ] = Path("outbox"),
    db: DbOption = None,
) -> None:
    """Run the enabled flows: every INTERVAL seconds, start the runs that are due, take their
    steps and deliver their messages. SIGTERM or Ctrl-C finishes the round under way, then
    stops. Several workers may share a database."""
    stop = threading.Event()

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, ask_to_stop)
    signal.signal(signal.SIGINT, ask_to_stop)

    def show(report: TickReport) -> None:
        entered = sum(report.planned.entered.values())
        console.print(
            f"{entered:,} entered, {report.advanced:,} steps, {report.delivery.sent:,} sent, "
            f"{report.delivery.total_skipped:,} skipped, {report.deferred:,} deferred to after quiet hours",
            highlight=False,
        )
        if once:
            stop.set()

    ticks = on_store(db, lambda app_: run_worker(app_, Settings(), outbox, stop, interval, show), REFUSED)
    console.print(f"Worker stopped after {ticks:,} round(s).", highlight=False)
