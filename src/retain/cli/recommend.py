"""``retain recommend``: what each customer may want next, and how well that is guessed."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import numpy as np
import typer
from rich.table import Table
from sqlalchemy import select

from retain.analytics.engine import read_purchases
from retain.analytics.recommend import Evaluation, Recommender, evaluate
from retain.bootstrap import App
from retain.cli.ui import DbOption, console, fail, on_store
from retain.store.tables import customers, products


def recommend(
    customer: Annotated[
        list[str] | None, typer.Option(help="A customer's external id or email (repeatable): their picks.")
    ] = None,
    k: Annotated[int, typer.Option(help="How many products per customer.", min=1, max=50)] = 5,
    check: Annotated[
        bool, typer.Option("--evaluate", help="Judge the picks on the latest days against best-sellers.")
    ] = False,
    holdout_days: Annotated[int, typer.Option(help="Days held out by --evaluate.", min=7)] = 90,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Recommend products from what customers buy together ("bought this, also bought"),
    leaving out what each customer already has and what no longer sells. --evaluate holds
    out the latest days and reports the hit rate at k beside the most-popular baseline."""
    if not customer and not check:
        fail("name at least one --customer, or ask for --evaluate")

    def work(app: App) -> tuple[dict[str, list[str]], Evaluation | None]:
        purchases = read_purchases(app.url)
        if purchases.num_rows == 0:
            raise ValueError("the store has no order lines with products yet; import orders first")
        last = purchases["placed_at"].to_numpy(zero_copy_only=False).max().astype(datetime)
        report = None
        if check:
            cutoff = (last - timedelta(days=holdout_days)).replace(tzinfo=UTC)
            report = evaluate(purchases, cutoff, holdout_days, k)
        picks: dict[str, list[str]] = {}
        if customer:
            with app.engine.connect() as connection:
                wanted = [c.lower() for c in customer]
                known = select(customers.c.external_id, customers.c.email, customers.c.id).where(
                    customers.c.external_id.in_(customer) | customers.c.email.in_(wanted)
                )
                found: dict[str, int] = {}
                for row in connection.execute(known):
                    found.update({key: row.id for key in (row.external_id, row.email) if key})
                titles = {
                    row.id: row.title for row in connection.execute(select(products.c.id, products.c.title))
                }
            ids = {c: found.get(c) or found.get(c.lower()) for c in customer}
            missing = [c for c, id_ in ids.items() if id_ is None]
            if missing:
                raise ValueError(f"no customer with external id or email {', '.join(missing)}")
            model = Recommender().fit(purchases, last.replace(tzinfo=UTC))
            chosen = model.recommend(np.array([ids[c] for c in customer], dtype=np.int64), k)
            picks = {c: [titles[int(p)] for p in ids] for c, ids in zip(customer, chosen, strict=True)}
        return picks, report

    picks, report = on_store(db, work, (ValueError,))
    if as_json:
        typer.echo(json.dumps({"recommendations": picks, "evaluation": _plain(report)}, default=str))
        return
    for name, titles in picks.items():
        console.print(f"[bold]{name}[/]: " + ("; ".join(titles) or "nothing new to suggest"), highlight=False)
    if report is not None:
        table = Table(
            title=f"Hit rate at {report.k}, {report.holdout_days} days after {report.cutoff:%Y-%m-%d}"
        )
        for column in ("ranking", "hit rate", "customers"):
            table.add_column(column, justify="left" if column == "ranking" else "right")
        table.add_row("bought together", f"{report.hit_rate:.1%}", f"{report.customers:,}")
        table.add_row("best-sellers (baseline)", f"{report.hit_rate_popular:.1%}", f"{report.customers:,}")
        console.print(table)


def _plain(report: Evaluation | None) -> dict[str, object] | None:
    return None if report is None else asdict(report)
