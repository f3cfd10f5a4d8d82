"""``retain feedback``: what customers tell the store, read and routed, and the action plan
that closes the loop.

The helpers at the top (JSON output, refusals, sparklines, e-mail addresses by customer) are
shared by ``retain tickets``, ``retain team`` and ``retain customer``: the listening commands
speak the same way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Connection, select

from retain import listening
from retain.bootstrap import App
from retain.cli.ui import DbOption, console, fail, on_store
from retain.config import Settings
from retain.domain.feedback import CATEGORIES, TEAMS, FeedbackError
from retain.domain.messages import MessageError
from retain.domain.personalization import BrandError
from retain.domain.surveys import SURVEY_KINDS, AnswerError, NetPromoter, answer, clean_text
from retain.domain.tickets import TicketError
from retain.mailer import load_brand
from retain.messaging.templating import TemplateError
from retain.service import feedback as service
from retain.service.feedback import Incoming, Received
from retain.store.tables import customers

app = typer.Typer(
    help="Feedback: record what customers say (surveys, reviews, complaints), read it by team, "
    "see the report (NPS, ratings, categories, goodbyes), work through the action plan and tell "
    "customers when what they raised is fixed. `classify` and `model` try the classifier.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
OutboxOption = Annotated[
    Path, typer.Option(help="Folder of .eml files, used when RETAIN_SMTP_URL is not set.")
]
REFUSED = (FeedbackError, TicketError, AnswerError, BrandError, TemplateError, MessageError)
BY_HAND = ("complaint", "review", "survey", "api", "reply")  # sources staff may record
MAX_REF = 255
ADDED = ("ref", "category", "sentiment", "mentions_competitor", "intends_to_leave", "team", "ticket_id",
         "action_item_id")  # fmt: skip
SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 20
T = TypeVar("T")


# --- shared by the listening commands --------------------------------------------------------


def run(db: str | None, work: Callable[[App], T]) -> T:
    """Run ``work`` on the store; a refused request (bad input, an unknown ticket, no brand to
    send under) is one line and exit status 2, with nothing written."""
    try:
        return on_store(db, work, ())
    except REFUSED as exc:
        fail(escape(str(exc)))


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, default=_json_value, ensure_ascii=False))


def _json_value(value: Any) -> str:
    """Times in ISO 8601; anything else (a decimal) as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def moment(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M}"


def excerpt(text: str | None, width: int = 60) -> str:
    """The start of ``text`` on one line, for a table cell."""
    words = " ".join((text or "").split())
    return words if len(words) <= width else words[: width - 1] + "…"


def sparkline(counts: Iterable[int]) -> str:
    """Counts as bars one character wide; any count above zero shows above the floor."""
    values = list(counts)
    top = max(values, default=0)
    if not top:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[0 if not v else max(1, math.ceil(7 * v / top))] for v in values)


def flags(row: dict[str, Any]) -> str:
    """The two warning signs of a piece of feedback, in words."""
    found = ["competitor"] * bool(row["mentions_competitor"]) + ["leaving"] * bool(row["intends_to_leave"])
    return ", ".join(found) or "-"


def emails_of(connection: Connection, ids: Iterable[int]) -> dict[int, str | None]:
    """Customers' addresses by id, read a thousand at a time."""
    wanted = sorted(set(ids))
    found: dict[int, str | None] = {}
    for start in range(0, len(wanted), 1000):
        query = select(customers.c.id, customers.c.email).where(
            customers.c.id.in_(wanted[start : start + 1000])
        )
        found.update((row.id, row.email) for row in connection.execute(query))
    return found


def figures_table(title: str, rows: dict[str, str]) -> Table:
    """Labelled figures, one a line."""
    table = Table(title=title, show_header=False)
    table.add_column()
    table.add_column()
    for label, value in rows.items():
        table.add_row(label, value)
    return table


def delivered(outbox: Path) -> str:
    """Where messages go: the mail server when one is configured, else the outbox folder."""
    return "through the SMTP server" if Settings().smtp_url else f"into the outbox {outbox}/"


def check_choice(value: str | None, allowed: Iterable[str], what: str) -> None:
    known = tuple(allowed)
    if value is not None and value not in known:
        raise FeedbackError(f"no {what} {value!r}; there are: {', '.join(known)}")


# --- the classifier --------------------------------------------------------------------------


@app.command()
def classify(
    texts: Annotated[
        list[str], typer.Argument(help="One or more texts, each in quotes.", show_default=False)
    ],
    as_json: JsonOption = False,
) -> None:
    """Classify each TEXT: category (the team it goes to), sentiment, whether it names a
    competitor and whether the customer says they are leaving."""
    from retain.feedback.classifier import shipped  # scikit-learn loads only when needed

    if not any(text.strip() for text in texts):
        fail("give at least one text that is not empty", 1)
    found = shipped().classify(texts)
    if as_json:
        rows = [
            {"text": text, **asdict(triage), "team": triage.team}
            for text, triage in zip(texts, found, strict=True)
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title="Feedback", show_lines=True)
    for column in ("text", "category", "team", "sentiment", "competitor", "leaving"):
        table.add_column(column, overflow="fold")
    for text, triage in zip(texts, found, strict=True):
        table.add_row(
            text, triage.category, triage.team, triage.sentiment,
            "yes" if triage.mentions_competitor else "no", "yes" if triage.intends_to_leave else "no",
        )  # fmt: skip
    console.print(table)


@app.command()
def model(as_json: JsonOption = False) -> None:
    """How the shipped classifier does on its held-out examples: accuracy of each answer and
    the category confusion matrix."""
    from retain.feedback.classifier import evaluate, read_examples, shipped

    result = evaluate(shipped(), read_examples("test"))
    if as_json:
        typer.echo(json.dumps(asdict(result) | {"categories": list(CATEGORIES)}))
        return
    figures = Table(title=f"Held-out accuracy ({result.examples:,} examples never trained on)")
    figures.add_column("answer")
    figures.add_column("accuracy", justify="right")
    for name in ("category", "sentiment", "mentions_competitor", "intends_to_leave"):
        figures.add_row(name, f"{getattr(result, name):.1%}")
    console.print(figures)
    matrix = Table(title="Categories: true (rows) by predicted (columns)")
    matrix.add_column("")
    for name in CATEGORIES:
        matrix.add_column(name.replace("_", " "), justify="right")
    for name, row in zip(CATEGORIES, result.confusion, strict=True):
        matrix.add_row(name.replace("_", " "), *(f"{n:,}" for n in row))
    console.print(matrix)


# --- recording and reading feedback ----------------------------------------------------------


def _incoming(
    text: str, customer_id: int, source: str | None, survey: str | None, score: int | None, ref: str | None
) -> Incoming:
    """Feedback as staff record it; every problem with it is refused before anything is kept."""
    chosen = source or ("review" if survey == "review" else "survey" if survey else "api")
    check_choice(chosen, BY_HAND, "source")
    if score is not None and survey is None:
        raise AnswerError(f"--score needs --survey ({', '.join(SURVEY_KINDS)})")
    given = answer(survey, score, text) if survey is not None else None
    if chosen == "survey" and given is None:
        raise AnswerError("a survey answer needs --survey and --score")
    words = given.text if given is not None else clean_text(text)
    if not words and given is None:
        raise FeedbackError("the feedback is empty")
    name = (ref or "").strip() or listening.new_ref(chosen)
    if len(name) > MAX_REF:
        raise FeedbackError(f"--ref is {len(name)} characters long; at most {MAX_REF} are kept")
    return Incoming(ref=name, source=chosen, text=words, customer_id=customer_id, answer=given)


@app.command()
def add(
    text: Annotated[str, typer.Argument(help="What the customer said, in quotes.", show_default=False)],
    customer: Annotated[
        str, typer.Option(help="The customer: Retain's id, the store's id or e-mail.", show_default=False)
    ],
    source: Annotated[
        str | None,
        typer.Option(
            help="complaint, review, survey, api or reply. Default: survey (review) with --survey, else api.",
            show_default=False,
        ),
    ] = None,
    survey: Annotated[
        str | None,
        typer.Option(help="The survey answered: nps, csat, post_purchase or review.", show_default=False),
    ] = None,
    score: Annotated[
        int | None, typer.Option(help="The score: 0-10 for nps, 1-5 for the others.", show_default=False)
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option(
            help="Names this feedback for good (a review's id): the same ref is recorded once.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Record feedback a customer gave: it is classified, routed to its team, added to the
    action plan when it is a problem, and opens a ticket when someone asked for help or was
    unhappy. A survey answer or review earns the loyalty bonus, once."""

    def work(app_: App) -> tuple[Received, dict[str, Any]]:
        incoming = _incoming(text, listening.customer_id(app_, customer), source, survey, score, ref)
        received = listening.receive(app_, incoming)
        with app_.unit_of_work() as uow:
            kept = uow.feedback.get(received.feedback_id)
        assert kept is not None
        return received, kept

    received, kept = run(db, work)
    shown = {key: kept[key] for key in ADDED}
    if as_json:
        print_json({"feedback_id": received.feedback_id, "duplicate": received.duplicate, **shown})
        return
    if received.duplicate:
        console.print(
            f"Feedback {escape(kept['ref'])} was already recorded as #{kept['id']}; nothing changed.",
            highlight=False,
        )
    rows = {
        "category": kept["category"], "sentiment": kept["sentiment"], "flags": flags(kept),
        "team": kept["team"], "ticket": _number(kept["ticket_id"]),
        "action item": _number(kept["action_item_id"]),
    }  # fmt: skip
    console.print(figures_table(f"Feedback #{kept['id']}", rows))


@app.command()
def mail(
    files: Annotated[
        list[Path],
        typer.Argument(help="E-mails customers sent the store, as .eml files.", exists=True, dir_okay=False),
    ],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Take in e-mails customers sent the store (replies to its messages, say): each becomes
    feedback and a ticket, read from the customer's own words without the quoted message or
    the signature. A message already taken (same Message-ID) changes nothing; one without a
    sender or words of its own is reported and skipped."""
    rows: list[dict[str, Any]] = []

    def work(app_: App) -> None:
        for path in files:
            try:
                received = listening.receive_reply(app_, path.read_bytes())
            except FeedbackError as exc:
                rows.append({"file": str(path), "error": str(exc)})
                continue
            rows.append({"file": str(path), "feedback_id": received.feedback_id,
                         "duplicate": received.duplicate, "ticket_id": received.ticket_id,
                         "category": received.triage.category, "team": received.triage.team})  # fmt: skip

    run(db, work)
    if as_json:
        print_json(rows)
    else:
        table = Table(title="E-mails taken in")
        for column in ("file", "result"):
            table.add_column(column, overflow="fold")
        for row in rows:
            result = row.get("error") or (
                "already taken"
                if row["duplicate"]
                else f"ticket {_number(row['ticket_id'])} for {row['team']}"
            )
            table.add_row(escape(row["file"]), escape(str(result)))
        console.print(table)
    if any("error" in row for row in rows):
        raise typer.Exit(1)


def _number(found: int | None) -> str:
    return "-" if found is None else f"#{found}"


@app.command("list")
def list_feedback(
    team: Annotated[
        str | None, typer.Option(help=f"One team's queue: {', '.join(sorted(set(TEAMS.values())))}.")
    ] = None,
    category: Annotated[str | None, typer.Option(help=f"One category: {', '.join(CATEGORIES)}.")] = None,
    customer: Annotated[
        str | None, typer.Option(help="One customer: Retain's id, the store's id or e-mail.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.", min=1)] = 50,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The teams' queues: the newest feedback with its category, sentiment, warning flags,
    team and ticket."""

    def work(app_: App) -> tuple[list[dict[str, Any]], dict[int, str | None]]:
        check_choice(team, sorted(set(TEAMS.values())), "team")
        check_choice(category, CATEGORIES, "category")
        who = listening.customer_id(app_, customer) if customer is not None else None
        with app_.unit_of_work() as uow:
            rows = uow.feedback.listed(team=team, category=category, customer_id=who, limit=limit)
            return rows, emails_of(uow.connection, (r["customer_id"] for r in rows if r["customer_id"]))

    rows, emails = run(db, work)
    if as_json:
        print_json([row | {"email": emails.get(row["customer_id"])} for row in rows])
        return
    table = Table(title="Feedback, newest first")
    for column in ("id", "when", "customer", "source", "score", "category", "sentiment", "flags", "team",
                   "ticket", "text"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("id", "score", "ticket") else "left")
    for row in rows:
        table.add_row(
            str(row["id"]), moment(row["created_at"]), escape(emails.get(row["customer_id"]) or "-"),
            row["source"], _score(row), row["category"], row["sentiment"], flags(row), row["team"],
            _number(row["ticket_id"]), escape(excerpt(row["text"], 50)),
        )  # fmt: skip
    console.print(table if rows else "No feedback yet.")


def _score(row: dict[str, Any]) -> str:
    return "-" if row["score"] is None else f"{row['survey']} {row['score']}"


# --- the report ------------------------------------------------------------------------------


def _signed(score: float | None) -> str:
    return "-" if score is None else f"{score:+.1f}"


def _score_bar(score: float | None) -> str:
    """An NPS as a bar: green for more promoters than detractors, red for fewer."""
    if score is None:
        return ""
    length = round(BAR_WIDTH * abs(score) / 100)
    return f"[{'green' if score >= 0 else 'red'}]{'█' * length}[/]"


def _nps_table(title: str, label: str, rows: dict[str, NetPromoter], bars: bool = False) -> Table:
    table = Table(title=title)
    table.add_column(label)
    for column in ("answers", "NPS", "promoters", "passives", "detractors"):
        table.add_column(column, justify="right")
    if bars:
        table.add_column("")
    for name, found in rows.items():
        cells = [escape(name), f"{found.responses:,}", _signed(found.score), f"{found.promoters:,}",
                 f"{found.passives:,}", f"{found.detractors:,}"]  # fmt: skip
        table.add_row(*cells, *([_score_bar(found.score)] if bars else []))
    return table


def _categories_table(categories: dict[str, dict[str, int]]) -> Table:
    table = Table(title="Feedback by category")
    table.add_column("category")
    for column in ("negative", "neutral", "positive", "all", "competitor", "leaving"):
        table.add_column(column, justify="right")
    for name in sorted(categories, key=lambda c: CATEGORIES.index(c) if c in CATEGORIES else len(CATEGORIES)):
        counts = categories[name]
        moods = [counts.get(mood, 0) for mood in ("negative", "neutral", "positive")]
        table.add_row(
            name, *(f"{n:,}" for n in [*moods, sum(moods), counts["competitor"], counts["leaving"]])
        )
    return table


def _goodbyes_table(goodbyes: dict[str, dict[str, int]]) -> Table:
    table = Table(title="Goodbyes and their reasons")
    for column in ("choice", "reason", "customers"):
        table.add_column(column, justify="right" if column == "customers" else "left")
    for action, reasons in sorted(goodbyes.items()):
        for reason, count in sorted(reasons.items(), key=lambda r: -r[1]):
            table.add_row(action.replace("_", " "), reason.replace("_", " "), f"{count:,}")
    return table


@app.command()
def report(
    segments: Annotated[
        str, typer.Option(help="NPS by the segments whose names start with this (rfm: the RFM segments).")
    ] = "rfm:",
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """What customers said, in figures: NPS (promoters, passives, detractors) overall, by
    month and by segment; the average CSAT, post-purchase and review ratings; feedback by
    category and sentiment with the competitor and leaving flags; why people said goodbye;
    and how quickly feedback was acknowledged."""
    done = run(db, lambda app_: service.report(app_.unit_of_work, segments))
    if as_json:
        print_json(done.as_dict())
        return
    console.print(_nps_table("Net Promoter Score", "", {"all answers": done.nps}))
    if done.nps_by_month:
        console.print(_nps_table("NPS by month", "month", done.nps_by_month, bars=True))
    if done.nps_by_segment:
        console.print(_nps_table(f"NPS by segment ({escape(segments)})", "segment", done.nps_by_segment))
    if done.ratings:
        ratings = {kind.replace("_", " "): f"{mean:.2f} of 5 ({n:,} answers)"
                   for kind, (mean, n) in done.ratings.items()}  # fmt: skip
        console.print(figures_table("Ratings", ratings))
    if done.categories:
        console.print(_categories_table(done.categories))
    if done.goodbyes:
        console.print(_goodbyes_table(done.goodbyes))
    minutes = done.median_acknowledgement_minutes
    delay = "" if minutes is None else f", a median {minutes:,.1f} minutes after the feedback"
    console.print(f"Acknowledged: {done.acknowledged:,}{delay}.", highlight=False)


# --- the action plan -------------------------------------------------------------------------


@app.command()
def actions(
    status: Annotated[str | None, typer.Option(help="open or resolved (default: both).")] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The action plan: one item per problem category, with the feedback and customers behind
    it, how many were told it was fixed, the last 8 weeks' trend and example quotes."""

    def work(app_: App) -> list[service.ActionItem]:
        check_choice(status, ("open", "resolved"), "status")
        return service.action_plan(app_.unit_of_work, app_.now(), status)

    items = run(db, work)
    if as_json:
        print_json([asdict(item) for item in items])
        return
    table = Table(title="Action plan", show_lines=True)
    for column in ("item", "category", "team", "status", "feedback", "customers", "notified",
                   "8 weeks", "what customers said"):  # fmt: skip
        figure = column in ("item", "feedback", "customers", "notified")
        table.add_column(column, justify="right" if figure else "left", no_wrap=column == "8 weeks")
    for item in items:
        quotes = "\n".join(f"“{escape(excerpt(quote, 70))}”" for quote in item.quotes)
        table.add_row(
            str(item.id), item.category, item.team, item.status, f"{item.feedback:,}",
            f"{item.customers:,}", f"{item.notified:,}", sparkline(item.trend), quotes or "-",
        )  # fmt: skip
    console.print(table if items else "No action items yet.")


@app.command()
def resolve(
    item_id: Annotated[int, typer.Argument(help="The action item (see `retain feedback actions`).")],
    note: Annotated[
        str, typer.Option(help="What was done; the customers are told this.", show_default=False)
    ],
    by: Annotated[str, typer.Option(help="Who resolved it.")] = "admin",
    outbox: OutboxOption = Path("outbox"),
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Resolve an action item and tell every customer who raised it what was done, through
    RETAIN_SMTP_URL when set, else into --outbox. Each customer is told once."""

    def work(app_: App) -> tuple[listening.Closed, dict[int, str | None]]:
        with app_.unit_of_work() as uow:
            item = uow.feedback.item(item_id)
            waiting = uow.feedback.to_notify(item_id) if item is not None else []
        if item is not None and item["status"] == "open" and waiting:
            load_brand(app_)  # no brand to send under: refused before the item is touched
        closed = listening.resolve_item(app_, item_id, by, note, outbox)
        with app_.unit_of_work() as uow:
            return closed, emails_of(uow.connection, [*closed.told, *closed.not_told])

    closed, emails = run(db, work)
    if as_json:
        told = [{"customer_id": c, "email": emails.get(c)} for c in closed.told]
        missed = [{"customer_id": c, "email": emails.get(c)} for c in closed.not_told]
        print_json({"item_id": item_id, "told": told, "not_told": missed})
        return
    console.print(
        f"Action item #{item_id} resolved. Told {len(closed.told):,} customer(s) {delivered(outbox)}.",
        highlight=False,
    )
    if closed.not_told:
        names = ", ".join(escape(emails.get(c) or f"customer {c}") for c in closed.not_told)
        console.print(f"Could not reach {len(closed.not_told):,}: {names}", highlight=False)
    for reason, count in closed.report.skipped.most_common():
        console.print(f"  skipped {count:,}: {escape(reason)}", highlight=False)


@app.command()
def notified(
    item_id: Annotated[int, typer.Argument(help="The action item.")],
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Who was told that an action item was resolved: customer, address, message and when."""

    def work(app_: App) -> list[dict[str, Any]]:
        with app_.unit_of_work() as uow:
            if uow.feedback.item(item_id) is None:
                raise FeedbackError(f"no action item {item_id}")
            return uow.feedback.notices(item_id)

    notices = run(db, work)
    if as_json:
        print_json(notices)
        return
    table = Table(title=f"Customers told about action item #{item_id}")
    for column in ("customer", "email", "message", "when"):
        table.add_column(column, justify="right" if column == "customer" else "left")
    for notice in notices:
        table.add_row(
            str(notice["customer_id"]), escape(notice["email"] or "-"), escape(notice["message_key"]),
            moment(notice["notified_at"]),
        )  # fmt: skip
    console.print(table if notices else f"Nobody has been told about action item #{item_id} yet.")
