"""``retain team``: each agent's figures against the store's goals, and kudos.

Keeping customers is people's work (a complaint resolved quickly, a call back), so the
figures name who did it, and anyone can say thank you.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from retain import listening
from retain.bootstrap import App
from retain.cli.feedback import JsonOption, excerpt, figures_table, moment, print_json, run
from retain.cli.ui import DbOption, console
from retain.domain.feedback import FeedbackError
from retain.domain.tickets import AgentFigures, Goals, TicketError
from retain.service import feedback as service
from retain.web.team import MAX_KUDOS

app = typer.Typer(short_help="The team: each agent's figures against the goals, and kudos.")
MARKS = {True: "[green]✓[/]", False: "[red]✗[/]", None: ""}


def _figures(app_: App) -> tuple[list[AgentFigures], Goals, dict[str, int]]:
    """Every agent's figures, those who only received kudos included, with the goals."""
    found = service.team_figures(app_.unit_of_work)
    with app_.unit_of_work() as uow:
        given = uow.feedback.kudos_counts()
    named = {f.agent for f in found}
    found += [AgentFigures(agent, 0, 0, None, None, None, 0, 0) for agent in sorted(set(given) - named)]
    return found, listening.load_goals(app_), given


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f} h"


def _marked(text: str, met: bool | None) -> str:
    return f"{text} {MARKS[met]}".rstrip()


def _shown(value: float | None, unit: str = "") -> str:
    return "none" if value is None else f"{value:g}{unit}"


def _goal_line(goals: Goals) -> str:
    set_ = [
        f"{label} {_shown(value, unit)}"
        for label, value, unit in (
            ("first response within", goals.first_response_hours, " h"),
            ("resolution within", goals.resolution_hours, " h"),
            ("CSAT at least", goals.csat, ""),
            ("customers saved at least", goals.saved, ""),
        )
        if value is not None
    ]
    return f"Goals: {', '.join(set_) or 'none'}. ✓ met, ✗ missed."


@app.callback(invoke_without_command=True)
def team(ctx: typer.Context, as_json: JsonOption = False, db: DbOption = None) -> None:
    """Each agent's figures against the team's goals: tickets resolved and open, median hours
    to the first response and to the resolution, CSAT after resolution, customers saved
    (complaints whose customer ordered again within 90 days) and kudos received. See also
    `retain team goals` and `retain team kudos`."""
    if ctx.invoked_subcommand is not None:
        return
    agents, goals, given = run(db, _figures)
    if as_json:
        rows = [asdict(f) | {"kudos": given.get(f.agent, 0), "met": goals.met(f)} for f in agents]
        print_json({"goals": asdict(goals), "agents": rows})
        return
    table = Table(title="The team", caption=_goal_line(goals))
    for column in ("agent", "resolved", "open", "first response", "resolution", "CSAT", "saved", "kudos"):
        table.add_column(column, justify="left" if column == "agent" else "right")
    for f in agents:
        met = goals.met(f)
        csat = "-" if f.csat is None else f"{f.csat:.2f} ({f.csat_responses:,})"
        table.add_row(
            escape(f.agent), f"{f.resolved:,}", f"{f.open:,}",
            _marked(_hours(f.median_first_response_hours), met["first_response_hours"]),
            _marked(_hours(f.median_resolution_hours), met["resolution_hours"]),
            _marked(csat, met["csat"]), _marked(f"{f.saved:,}", met["saved"]), f"{given.get(f.agent, 0):,}",
        )  # fmt: skip
    console.print(table if agents else "No agent has a ticket or kudos yet.")


@app.command()
def kudos(
    agent: Annotated[str, typer.Argument(help="Who is thanked.", show_default=False)],
    message: Annotated[str, typer.Argument(help="What for, in quotes.", show_default=False)],
    giver: Annotated[str, typer.Option("--from", help="Who says thank you.")] = "someone",
    ticket: Annotated[int | None, typer.Option(help="The ticket it was for.", show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Thank an agent for something they did, a ticket or anything else."""

    def work(app_: App) -> int:
        if len(message.strip()) > MAX_KUDOS:
            raise FeedbackError(f"keep the message under {MAX_KUDOS:,} characters")
        if ticket is not None:
            with app_.unit_of_work() as uow:
                if uow.feedback.ticket(ticket) is None:
                    raise TicketError(f"no ticket {ticket}")
        return service.kudos(app_.unit_of_work, agent, giver, message, app_.now(), ticket)

    run(db, work)
    console.print(f"Kudos to {escape(agent.strip())} recorded.", highlight=False)


@app.command("kudos-list")
def kudos_list(
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 50,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The kudos given, newest first."""

    def work(app_: App) -> list[dict[str, Any]]:
        with app_.unit_of_work() as uow:
            return uow.feedback.kudos(limit)

    given = run(db, work)
    if as_json:
        print_json(given)
        return
    table = Table(title="Kudos")
    for column in ("when", "to", "from", "message", "ticket"):
        table.add_column(column, justify="right" if column == "ticket" else "left")
    for row in given:
        table.add_row(
            moment(row["at"]), escape(row["agent"]), escape(row["giver"]),
            escape(excerpt(row["message"], 80)), "-" if row["ticket_id"] is None else f"#{row['ticket_id']}",
        )  # fmt: skip
    console.print(table if given else "No kudos yet.")


def _goal(text: str, option: str, low: float, high: float | None = None) -> float | None:
    """A goal as given: a number in range, or "none" for no goal."""
    if text.strip().lower() == "none":
        return None
    try:
        value = float(text)
    except ValueError:
        raise FeedbackError(f"{option} takes a number or 'none', not {text!r}") from None
    if not low <= value <= (high if high is not None else float("inf")):
        upper = f" to {high:g}" if high is not None else " or more"
        raise FeedbackError(f"{option} must be from {low:g}{upper}, not {text}")
    return value


def _changed(
    goals: Goals, first_response: str | None, resolution: str | None, csat: str | None, saved: str | None
) -> Goals:
    changes: dict[str, Any] = {}
    if first_response is not None:
        changes["first_response_hours"] = _goal(first_response, "--first-response-hours", 0.1)
    if resolution is not None:
        changes["resolution_hours"] = _goal(resolution, "--resolution-hours", 0.1)
    if csat is not None:
        changes["csat"] = _goal(csat, "--csat", 1, 5)
    if saved is not None:
        count = _goal(saved, "--saved", 0)
        if count is not None and not count.is_integer():
            raise FeedbackError(f"--saved takes a whole number of customers, not {saved}")
        changes["saved"] = None if count is None else int(count)
    return replace(goals, **changes)


@app.command()
def goals(
    first_response_hours: Annotated[
        str | None, typer.Option(help="Median hours to the first response, at most; or 'none'.")
    ] = None,
    resolution_hours: Annotated[
        str | None, typer.Option(help="Median hours to the resolution, at most; or 'none'.")
    ] = None,
    csat: Annotated[
        str | None, typer.Option(help="Mean CSAT (1-5) after resolution, at least; or 'none'.")
    ] = None,
    saved: Annotated[str | None, typer.Option(help="Customers saved, at least; or 'none'.")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Show the team's goals, or change the ones given (the rest stay). Until set they are a
    first response within 24 hours, a resolution within 72, a CSAT of 4.5 and no goal for
    customers saved."""

    def work(app_: App) -> Goals:
        current = listening.load_goals(app_)
        if all(value is None for value in (first_response_hours, resolution_hours, csat, saved)):
            return current
        new = _changed(current, first_response_hours, resolution_hours, csat, saved)
        listening.save_goals(app_, new)
        return new

    found = run(db, work)
    if as_json:
        print_json(asdict(found))
        return
    rows = {
        "first response within": _shown(found.first_response_hours, " h"),
        "resolution within": _shown(found.resolution_hours, " h"),
        "CSAT at least": _shown(found.csat), "customers saved at least": _shown(found.saved),
    }  # fmt: skip
    console.print(figures_table("Team goals", rows))
