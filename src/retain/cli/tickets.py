"""``retain tickets``: customers' problems from the moment they reach the store until they are
solved, with the two clocks (first response, resolution) every ticket runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from retain import listening
from retain.bootstrap import App
from retain.cli.feedback import (
    JsonOption,
    OutboxOption,
    delivered,
    excerpt,
    figures_table,
    moment,
    print_json,
    run,
)
from retain.cli.ui import DbOption, console
from retain.domain.tickets import (
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
    TicketError,
    check_status,
    clock,
    span,
)
from retain.service import feedback as service

app = typer.Typer(
    help="Tickets: list them with their SLA clocks, read one with its history, assign, set the "
    "priority, add notes, reply to the customer, resolve and reopen; `check` reminds and escalates "
    "overdue tickets now.",
    no_args_is_help=True,
)
TicketArgument = Annotated[int, typer.Argument(help="The ticket's number.", show_default=False)]
ByOption = Annotated[str, typer.Option("--by", help="Who made the change; the ticket's history shows it.")]
AuthorOption = Annotated[str, typer.Option(help="Who wrote it.")]


# --- the clocks ------------------------------------------------------------------------------


def sla_text(ticket: dict[str, Any], now: datetime) -> str:
    found = clock(ticket, now)
    if found is None:
        return "-"
    name, due = found
    label = name.replace("_", " ")
    if due > now:
        return f"{label} due in {span(due - now)}"
    return f"[red]{label} overdue by {span(now - due)}[/]"


def sla_json(ticket: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    found = clock(ticket, now)
    if found is None:
        return None
    name, due = found
    left = (due - now).total_seconds() / 3600
    return {"clock": name, "due": due, "overdue": due <= now, "hours_left": round(left, 2)}


# --- reading ---------------------------------------------------------------------------------


def _statuses(text: str) -> list[str]:
    return [check_status(part.strip()) for part in text.split(",") if part.strip()]


@app.command("list")
def list_tickets(
    status: Annotated[
        str, typer.Option(help=f"Statuses to show, comma-separated: {', '.join(STATUSES)}.")
    ] = "open,pending",
    assignee: Annotated[str | None, typer.Option(help="Only this agent's tickets.")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team's tickets.")] = None,
    limit: Annotated[int, typer.Option(help="How many, the most urgent first.", min=1)] = 100,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Tickets, the most urgent first, each with its SLA state: how long until the first
    response or the resolution is due, or how long overdue it is."""

    def work(app_: App) -> tuple[list[dict[str, Any]], datetime]:
        wanted = _statuses(status)
        with app_.unit_of_work() as uow:
            found = uow.feedback.tickets(status=wanted, assignee=assignee, team=team, limit=limit)
        return found, app_.now()

    tickets, now = run(db, work)
    if as_json:
        print_json([ticket | {"sla": sla_json(ticket, now)} for ticket in tickets])
        return
    table = Table(title="Tickets")
    for column in ("id", "status", "priority", "team", "assignee", "customer", "subject", "opened", "SLA"):
        table.add_column(column, justify="right" if column == "id" else "left")
    for ticket in tickets:
        table.add_row(
            str(ticket["id"]), ticket["status"], ticket["priority"], ticket["team"],
            escape(ticket["assignee"] or "-"), escape(ticket["email"] or "-"),
            escape(excerpt(ticket["subject"], 50)), moment(ticket["created_at"]), sla_text(ticket, now),
        )  # fmt: skip
    console.print(table if tickets else "No tickets.")


def _size(size: int) -> str:
    return f"{size:,} bytes" if size < 1024 else f"{size / 1024:,.1f} KB"


@app.command()
def show(ticket_id: TicketArgument, as_json: JsonOption = False, db: DbOption = None) -> None:
    """One ticket: its details, what the customer wrote (with the names and sizes of their
    attachments), and every note, reply and event in order."""

    def work(app_: App) -> dict[str, Any]:
        with app_.unit_of_work() as uow:
            ticket = uow.feedback.ticket(ticket_id)
            if ticket is None:
                raise TicketError(f"no ticket {ticket_id}")
            pieces = uow.feedback.of_ticket(ticket_id)
            for piece in pieces:
                piece["attachments"] = uow.feedback.attachments_of(piece["id"])
            customer = ticket["customer_id"]
            email = uow.feedback.email_of(customer) if customer is not None else None
            notes = uow.feedback.notes(ticket_id)
        return {"ticket": ticket | {"email": email, "sla": sla_json(ticket, app_.now())},
                "feedback": pieces, "notes": notes, "now": app_.now()}  # fmt: skip

    found = run(db, work)
    if as_json:
        print_json({key: found[key] for key in ("ticket", "feedback", "notes")})
        return
    _print_ticket(found["ticket"], found["now"])
    for piece in found["feedback"]:
        files = [f"{escape(a['filename'])} ({_size(a['size'])})" for a in piece["attachments"]]
        body = escape(piece["text"] or "(no text)") + ("\n\nattached: " + ", ".join(files) if files else "")
        title = f"{piece['source']} #{piece['id']}, {moment(piece['created_at'])}"
        console.print(Panel(body, title=title, title_align="left", expand=False))
    history = Table(title="History")
    for column in ("when", "kind", "by", "what"):
        history.add_column(column, overflow="fold")
    for entry in found["notes"]:
        history.add_row(moment(entry["at"]), entry["kind"], escape(entry["author"]), escape(entry["body"]))
    console.print(history)


def _print_ticket(ticket: dict[str, Any], now: datetime) -> None:
    resolution = ticket["resolution"] or "-"
    if ticket["resolution_note"]:
        resolution += f": {ticket['resolution_note']}"
    rows = {
        "subject": escape(ticket["subject"]), "status": ticket["status"], "priority": ticket["priority"],
        "team": f"{ticket['team']} ({ticket['category'].replace('_', ' ')})",
        "assignee": escape(ticket["assignee"] or "-"), "customer": escape(ticket["email"] or "-"),
        "opened": moment(ticket["created_at"]), "first response": moment(ticket["first_response_at"]),
        "resolved": moment(ticket["resolved_at"]), "resolution": escape(resolution),
        "SLA": sla_text(ticket, now), "CSAT": "-" if ticket["csat"] is None else f"{ticket['csat']} of 5",
    }  # fmt: skip
    console.print(figures_table(f"Ticket #{ticket['id']}", rows))


# --- changing ----------------------------------------------------------------------------------


@app.command()
def assign(
    ticket_id: TicketArgument,
    agent: Annotated[str, typer.Argument(help="The agent who takes it.", show_default=False)],
    by: ByOption = "admin",
    db: DbOption = None,
) -> None:
    """Give a ticket to an agent: reminders go to them, and it counts in their figures."""
    run(db, lambda app_: service.assign(app_.unit_of_work, ticket_id, agent, by, app_.now()))
    console.print(f"Ticket #{ticket_id} assigned to {escape(agent.strip())}.", highlight=False)


@app.command()
def priority(
    ticket_id: TicketArgument,
    level: Annotated[str, typer.Argument(help=f"One of {', '.join(PRIORITIES)}.", show_default=False)],
    by: ByOption = "admin",
    db: DbOption = None,
) -> None:
    """Set a ticket's priority."""
    run(db, lambda app_: service.set_priority(app_.unit_of_work, ticket_id, level, by, app_.now()))
    console.print(f"Ticket #{ticket_id} is now {escape(level)} priority.", highlight=False)


@app.command()
def note(
    ticket_id: TicketArgument,
    text: Annotated[str, typer.Argument(help="The note, in quotes.", show_default=False)],
    author: AuthorOption = "admin",
    db: DbOption = None,
) -> None:
    """Add an internal note to a ticket; the customer never sees it."""
    run(db, lambda app_: service.note(app_.unit_of_work, ticket_id, author, text, app_.now()))
    console.print(f"Note added to ticket #{ticket_id}.", highlight=False)


@app.command()
def reply(
    ticket_id: TicketArgument,
    text: Annotated[str, typer.Argument(help="The reply, in quotes.", show_default=False)],
    author: AuthorOption = "admin",
    outbox: OutboxOption = Path("outbox"),
    db: DbOption = None,
) -> None:
    """Reply to the ticket's customer by e-mail (through RETAIN_SMTP_URL when set, else into
    --outbox) and record it: the first reply stops the first-response clock and the ticket
    waits for the customer. A reply that cannot be sent is not recorded."""
    run(db, lambda app_: listening.reply(app_, ticket_id, author, text, outbox))
    console.print(
        f"Reply sent {delivered(outbox)}; ticket #{ticket_id} waits for the customer.", highlight=False
    )


@app.command()
def resolve(
    ticket_id: TicketArgument,
    reason: Annotated[str, typer.Option(help=f"One of {', '.join(RESOLUTIONS)}.", show_default=False)],
    note: Annotated[str, typer.Option("--note", help="What was done, for the record.")] = "",
    by: ByOption = "admin",
    db: DbOption = None,
) -> None:
    """Resolve a ticket with its reason; flows may then ask the customer how it went."""
    run(db, lambda app_: service.resolve(app_.unit_of_work, ticket_id, reason, note, by, app_.now()))
    console.print(f"Ticket #{ticket_id} resolved: {escape(reason)}.", highlight=False)


@app.command()
def reopen(ticket_id: TicketArgument, by: ByOption = "admin", db: DbOption = None) -> None:
    """Open a resolved ticket again; its resolution clock starts over."""
    run(db, lambda app_: service.reopen(app_.unit_of_work, ticket_id, by, app_.now()))
    console.print(f"Ticket #{ticket_id} is open again.", highlight=False)


@app.command()
def check(as_json: JsonOption = False, db: DbOption = None) -> None:
    """Run the SLA check now (the worker runs it too): remind whoever owns a ticket whose first
    response is late, and escalate a ticket whose resolution is late. Once each per ticket."""
    done = run(db, lambda app_: service.check_sla(app_.unit_of_work, app_.now()))
    if as_json:
        print_json({"reminded": done.reminded, "escalated": done.escalated})
        return

    def listed(ids: list[int]) -> str:
        return ", ".join(f"#{i}" for i in ids) or "none"

    console.print(f"Reminded: {listed(done.reminded)}", highlight=False)
    console.print(f"Escalated: {listed(done.escalated)}", highlight=False)
