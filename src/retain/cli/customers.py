"""``retain customer``: one customer at a glance, before anyone writes or calls them back.

Everything the store knows about them (orders, messages, points, what they said, their
tickets) on one screen, read straight from the store.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from retain import listening
from retain.bootstrap import App
from retain.cli.feedback import JsonOption, excerpt, figures_table, flags, moment, print_json, run
from retain.cli.ui import DbOption, console
from retain.domain.money import format_money
from retain.store.customer_view import RECENT, customer_view

app = typer.Typer(
    help="One customer at a glance: profile, orders, messages, points, feedback and tickets.",
    no_args_is_help=True,
)


def view(app_: App, reference: str) -> dict[str, Any]:
    """The customer's 360 view, read in one transaction."""
    customer_id = listening.customer_id(app_, reference)
    with app_.unit_of_work() as uow:
        return customer_view(uow, customer_id, RECENT)


@app.command()
def show(
    customer: Annotated[
        str, typer.Argument(help="Retain's id, the store's id or the e-mail address.", show_default=False)
    ],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Everything about one customer on one screen: profile and consent, the last 10 orders
    and messages, loyalty points, survey answers and feedback, and tickets."""
    found = run(db, lambda app_: view(app_, customer))
    if as_json:
        print_json(found)
        return
    _print_profile(found["profile"], found["loyalty"])
    _print_orders(found["orders"])
    _print_messages(found["messages"])
    _print_feedback(found["feedback"])
    _print_tickets(found["tickets"])


def _consent(profile: dict[str, Any]) -> str:
    given = profile["marketing_consent"]
    if given is None:
        return "unknown"
    at = profile["consent_at"]
    how = ", ".join(part for part in (profile["consent_source"], at and moment(at)) if part)
    return ("yes" if given else "no") + (f" ({how})" if how else "")


def _print_profile(profile: dict[str, Any], points: dict[str, Any] | None) -> None:
    rows = {
        "email": profile["email"] or "-", "name": profile["name"] or "-",
        "store id": profile["external_id"] or "-", "Retain id": str(profile["id"]),
        "created": moment(profile["created_at"]), "marketing consent": _consent(profile),
        "timezone": profile["timezone"] or "-",
    }  # fmt: skip
    if points is not None:
        tier = f", tier {points['tier']}" if points["tier"] else ""
        rows["loyalty points"] = f"{points['balance']:,} (pending {points['pending']:,}){tier}"
    title = f"Customer {profile['name'] or profile['email'] or profile['id']}"
    console.print(figures_table(escape(title), {k: escape(v) for k, v in rows.items()}))


def _print_orders(found: list[dict[str, Any]]) -> None:
    if not found:
        console.print("No orders.")
        return
    table = Table(title=f"Orders (last {RECENT})")
    for column in ("number", "date", "total", "status"):
        table.add_column(column, justify="right" if column == "total" else "left")
    for order in found:
        status = "cancelled" if order["cancelled_at"] else order["financial_status"]
        if order["refunded"] and not order["cancelled_at"]:
            status += f", {format_money(order['refunded'], order['currency'])} refunded"
        table.add_row(
            escape(order["number"]), f"{order['placed_at']:%Y-%m-%d}",
            format_money(order["total"], order["currency"]), escape(status),
        )  # fmt: skip
    console.print(table)


def _print_messages(found: list[dict[str, Any]]) -> None:
    if not found:
        console.print("No messages.")
        return
    table = Table(title=f"Messages (last {RECENT})")
    for column in ("template", "channel", "status", "date"):
        table.add_column(column)
    for message in found:
        table.add_row(
            escape(message["template"]), message["channel"], message["status"].replace("_", " "),
            moment(message["created_at"]),
        )  # fmt: skip
    console.print(table)


def _print_feedback(found: list[dict[str, Any]]) -> None:
    if not found:
        console.print("No feedback.")
        return
    table = Table(title="Survey answers and feedback")
    for column in ("date", "source", "score", "category", "sentiment", "flags", "text"):
        table.add_column(column)
    for row in found:
        score = "-" if row["score"] is None else f"{row['survey']} {row['score']}"
        table.add_row(
            moment(row["created_at"]), row["source"], score, row["category"], row["sentiment"], flags(row),
            escape(excerpt(row["text"], 60)),
        )  # fmt: skip
    console.print(table)


def _print_tickets(found: list[dict[str, Any]]) -> None:
    if not found:
        console.print("No tickets.")
        return
    table = Table(title="Tickets")
    for column in ("id", "status", "priority", "subject", "assignee", "opened"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for ticket in found:
        table.add_row(
            str(ticket["id"]), ticket["status"], ticket["priority"], escape(excerpt(ticket["subject"], 50)),
            escape(ticket["assignee"] or "-"), moment(ticket["created_at"]),
        )  # fmt: skip
    console.print(table)
