"""``retain customer``: one customer at a glance, before anyone writes or calls them back.

Everything the store knows about them (orders, messages, points, what they said, their
tickets) on one screen, read straight from the store.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection, select

from retain import listening
from retain.bootstrap import App
from retain.cli.feedback import JsonOption, excerpt, figures_table, flags, moment, print_json, run
from retain.cli.ui import DbOption, console
from retain.domain.money import format_money
from retain.store.tables import customers, messages, orders

app = typer.Typer(
    help="One customer at a glance: profile, orders, messages, points, feedback and tickets.",
    no_args_is_help=True,
)
RECENT = 10  # orders and messages shown
PROFILE = (customers.c.id, customers.c.external_id, customers.c.email, customers.c.name, customers.c.phone,
           customers.c.created_at, customers.c.marketing_consent, customers.c.consent_source,
           customers.c.consent_at, customers.c.timezone)  # fmt: skip


def _rows(connection: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in connection.execute(query)]


def _orders(connection: Connection, customer_id: int) -> list[dict[str, Any]]:
    query = (
        select(orders.c.external_id.label("number"), orders.c.placed_at, orders.c.total, orders.c.refunded,
               orders.c.currency, orders.c.financial_status, orders.c.cancelled_at)
        .where(orders.c.customer_id == customer_id)
        .order_by(orders.c.placed_at.desc(), orders.c.id.desc())
        .limit(RECENT)
    )  # fmt: skip
    return _rows(connection, query)


def _messages(connection: Connection, customer_id: int) -> list[dict[str, Any]]:
    query = (
        select(messages.c.template, messages.c.channel, messages.c.status, messages.c.created_at)
        .where(messages.c.customer_id == customer_id)
        .order_by(messages.c.created_at.desc(), messages.c.id.desc())
        .limit(RECENT)
    )
    return _rows(connection, query)


def view(app_: App, reference: str) -> dict[str, Any]:
    """The customer's 360 view, read in one transaction."""
    customer_id = listening.customer_id(app_, reference)
    with app_.unit_of_work() as uow:
        connection = uow.connection
        profile = _rows(connection, select(*PROFILE).where(customers.c.id == customer_id))[0]
        account = uow.loyalty.account(customer_id)
        points = None if account is None else {k: account[k] for k in ("balance", "pending", "tier")}
        said = uow.feedback.listed(customer_id=customer_id, limit=20)
        return {
            "profile": profile,
            "orders": _orders(connection, customer_id),
            "messages": _messages(connection, customer_id),
            "loyalty": points,
            "feedback": [{k: v for k, v in row.items() if k != "data"} for row in said],
            "tickets": uow.feedback.tickets(customer_id=customer_id),
        }


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
