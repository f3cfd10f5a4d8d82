"""``retain segments``: who the customers are, by RFM, by the seed's groups, and by rules."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from retain.analytics.engine import Analytics
from retain.analytics.segments import Segmenter, SegmentSize
from retain.bootstrap import App, bootstrap
from retain.cli.ui import DbOption, console, fail
from retain.domain.conditions import Condition, RuleError, compile_rule
from retain.domain.metrics import PeriodError
from retain.domain.segments import CUSTOMER_FIELDS, builtin_segments
from retain.service.segments import define_segment, refresh_segments
from retain.store.tables import customers

app = typer.Typer(
    help="Customer segments: RFM segments, the loyal / underperforming / non-active groups, and "
    "your own rule segments. Without a command: list them with sizes and revenue shares.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _segmenter(app_: App) -> tuple[Segmenter, dict[str, Condition]]:
    with app_.unit_of_work() as uow:
        rules = uow.segments.rules()
    try:
        compiled = {name: compile_rule(rule, CUSTOMER_FIELDS) for name, rule in rules.items()}
        return Segmenter(Analytics.from_store(app_.url, scores=True), app_.now()), compiled
    except (PeriodError, RuleError) as exc:
        fail(str(exc))


@app.callback()
def list_segments(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
    db: DbOption = None,
) -> None:
    """List every segment with its size and share of revenue (as of now)."""
    if ctx.invoked_subcommand is not None:
        return
    app_ = bootstrap(db)
    try:
        segmenter, rules = _segmenter(app_)
        sizes = segmenter.sizes("rfm") + segmenter.sizes("group")
        sizes += [segmenter.rule_size(name, rule) for name, rule in rules.items()]
    finally:
        app_.close()
    if as_json:
        typer.echo(json.dumps([asdict(s) for s in sizes]))
        return
    _print(sizes)


def _print(sizes: list[SegmentSize]) -> None:
    table = Table(title="Segments")
    for column, justify in (
        ("segment", "left"),
        ("kind", "left"),
        ("customers", "right"),
        ("revenue share", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for s in sizes:
        table.add_row(s.name, s.kind, f"{s.customers:,}", f"{s.revenue_share:.1%}")
    console.print(table)


@app.command("define")
def define_command(
    name: Annotated[str, typer.Argument(help="The segment's name.")],
    rule: Annotated[
        str,
        typer.Argument(
            help='A JSON rule, or @FILE holding one, e.g. \'{"field": "orders", "op": ">=", "value": 2}\'.'
        ),
    ],
    db: DbOption = None,
) -> None:
    """Create or replace a rule segment. Rules combine conditions with "all", "any" and
    "not"; a condition is {"field": F, "op": OP, "value": V}. Fields: orders, revenue,
    average_order_value, days_since_last_order, days_since_first_order, recency_score,
    frequency_score, monetary_score, rfm_segment, group, and from the latest `retain predict`
    p_alive, churn_probability, predicted_orders, predicted_clv. Operators: = != > >= < <= in,
    not in.
    """
    text = rule
    if rule.startswith("@"):
        try:
            text = Path(rule[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"{rule[1:]}: {exc.strerror}")
    try:
        parsed: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"the rule is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    app_ = bootstrap(db)
    try:
        created = define_segment(app_.unit_of_work(), name, parsed, app_.now())
    except RuleError as exc:
        fail(f"invalid rule: {exc}")
    finally:
        app_.close()
    console.print(f"Segment {name!r} {'created' if created else 'updated'}.")


@app.command("refresh")
def refresh_command(db: DbOption = None) -> None:
    """Store every segment's members as of now, recording who entered and who left."""
    app_ = bootstrap(db)
    try:
        segmenter, rules = _segmenter(app_)
        report = refresh_segments(app_.unit_of_work(), segmenter.memberships(rules), app_.now())
    finally:
        app_.close()
    table = Table(title=f"Segments as of {segmenter.as_of:%Y-%m-%d %H:%M} UTC")
    for column in ("segment", "members", "entered", "left"):
        table.add_column(column, justify="left" if column == "segment" else "right")
    for r in report:
        table.add_row(r.segment, f"{r.members:,}", f"{r.entered:,}", f"{r.left:,}")
    console.print(table)


@app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="A segment: an RFM name, a group or one of your rules.")],
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write the members to this CSV file.")
    ] = None,
    db: DbOption = None,
) -> None:
    """The members of one segment, with their scores."""
    if csv_file is not None and not csv_file.parent.is_dir():
        fail(f"{csv_file}: directory {csv_file.parent} does not exist")
    app_ = bootstrap(db)
    try:
        segmenter, rules = _segmenter(app_)
        condition = _condition(name, rules)
        ids = segmenter.members(condition)
        scores = segmenter.scores()
        people = _people(app_, ids)
    finally:
        app_.close()
    header = [
        "customer_id",
        "external_id",
        "email",
        "name",
        "recency",
        "frequency",
        "monetary",
        "rfm_segment",
        "group",
    ]
    rows = [[c, *people.get(c, (None, None, None)), *scores[c]] for c in ids]
    if csv_file is not None:
        with csv_file.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        console.print(f"{len(rows):,} members of {name!r} written to {csv_file}")
        return
    table = Table(title=f"{name}: {len(rows):,} customers (first 20; --csv for all)")
    for column in header:
        table.add_column(column)
    for row in rows[:20]:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def _condition(name: str, rules: dict[str, Condition]) -> Condition:
    kind = builtin_segments().get(name)
    if kind is not None:
        field = "rfm_segment" if kind == "rfm" else "group"
        return compile_rule({"field": field, "op": "=", "value": name}, CUSTOMER_FIELDS)
    if name in rules:
        return rules[name]
    known = ", ".join([*builtin_segments(), *rules])
    fail(f"no segment named {name!r}; segments: {known}")


def _people(app_: App, ids: list[int]) -> dict[int, tuple[str | None, str | None, str | None]]:
    found: dict[int, tuple[str | None, str | None, str | None]] = {}
    columns = (customers.c.id, customers.c.external_id, customers.c.email, customers.c.name)
    with app_.engine.connect() as connection:
        for start in range(0, len(ids), 5000):
            query = select(*columns).where(customers.c.id.in_(ids[start : start + 5000]))
            found |= {r.id: (r.external_id, r.email, r.name) for r in connection.execute(query)}
    return found
