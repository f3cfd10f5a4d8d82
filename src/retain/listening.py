"""Listening wired to the store: the shipped classifier, the loyalty bonus for an answer or a
review, and the messages that close the loop (a ticket reply, the news that a problem the
customer raised was fixed)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from retain import membership
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.feedback import FeedbackError, Triage
from retain.domain.loyalty import LoyaltyError
from retain.domain.tickets import Goals, TicketError
from retain.feedback.classifier import shipped
from retain.feedback.inbound import read_reply
from retain.mailer import send
from retain.service import feedback, loyalty
from retain.service.feedback import Incoming, Received
from retain.service.outreach import Campaign, SendReport

BONUS_FOR = {"review": "review", "nps": "survey", "csat": "survey", "post_purchase": "survey"}


def classify(texts: Sequence[str]) -> list[Triage]:
    """The shipped classifier's reading of each text (trained on first use, then kept)."""
    return shipped().classify(texts)


def receive(app: App, incoming: Incoming, now: datetime | None = None) -> Received:
    """Keep and route one piece of feedback; a fresh survey answer or review earns the
    program's bonus once (a program without that bonus gives nothing)."""
    now = now or app.now()
    received = feedback.receive(incoming, session=app.unit_of_work, classify=classify, now=now)
    answer = incoming.answer
    if not received.duplicate and answer is not None and incoming.customer_id is not None:
        program = membership.load_program(app)
        bonus = BONUS_FOR[answer.kind]
        if program.bonuses.get(bonus, 0) > 0:
            # Not a member (a program for consenting customers only): no bonus, no error.
            with contextlib.suppress(LoyaltyError):
                ref = f"feedback:{received.feedback_id}"
                loyalty.award(program, app.unit_of_work, incoming.customer_id, bonus, ref, now)
    return received


def new_ref(source: str) -> str:
    return f"{source}:{uuid.uuid4().hex}"


def reply(
    app: App, ticket_id: int, author: str, body: str, outbox: Path, settings: Settings | None = None
) -> SendReport:
    """Send ``body`` to the ticket's customer as the ``ticket_reply`` message and record it in
    the ticket; a reply that cannot go (no customer, a suppressed address) is refused and
    nothing is recorded."""
    if not body.strip():
        raise TicketError("the reply is empty")
    with app.unit_of_work() as uow:
        ticket = uow.feedback.ticket(ticket_id)
    if ticket is None:
        raise TicketError(f"no ticket {ticket_id}")
    customer = ticket["customer_id"]
    if customer is None:
        raise TicketError(f"ticket {ticket_id} has no customer to reply to")
    key = f"ticket:{ticket_id}:reply:{uuid.uuid4().hex[:12]}"
    campaign = Campaign(
        name=f"ticket:{ticket_id}",
        template="ticket_reply",
        note=body.strip(),
        keys={customer: key},
        track=False,
    )
    report = send(app, campaign, [customer], outbox, settings=settings)
    if report.sent != 1:
        reasons = ", ".join(report.skipped) or "the mail server refused it"
        raise TicketError(f"the reply was not sent: {reasons}")
    feedback.record_reply(app.unit_of_work, ticket_id, author, body.strip(), key, app.now())
    return report


@dataclass(frozen=True)
class Closed:
    told: list[int]  # customers the resolution message reached
    not_told: list[int]  # customers it could not reach (a suppressed address, no address)
    report: SendReport


def resolve_item(
    app: App, item_id: int, by: str, note: str, outbox: Path, settings: Settings | None = None
) -> Closed:
    """Resolve an action item with a note and tell every customer who raised it; the item
    records who was told and with which message."""
    now = app.now()
    customers = feedback.resolve_item(app.unit_of_work, item_id, by, note, now)
    return notify(app, item_id, customers, note, outbox, settings)


def notify(
    app: App, item_id: int, customers: list[int], note: str, outbox: Path, settings: Settings | None = None
) -> Closed:
    keys = {c: f"action:{item_id}:{c}" for c in customers}
    campaign = Campaign(
        name=f"action:{item_id}", template="resolved_feedback", note=note, keys=keys, track=False
    )
    report = send(app, campaign, customers, outbox, settings=settings) if customers else SendReport()
    with app.unit_of_work() as uow:
        sent = uow.feedback.sent_keys(list(keys.values()))
    told = [c for c, k in keys.items() if k in sent]
    feedback.record_notices(app.unit_of_work, item_id, [(c, keys[c]) for c in told], app.now())
    return Closed(told, [c for c in customers if c not in told], report)


def customer_id(app: App, reference: str) -> int:
    """A customer by id, store id or e-mail; FeedbackError when there is none."""
    with app.unit_of_work() as uow:
        found = uow.feedback.customer_by(reference.strip())
    if found is None:
        raise FeedbackError(f"no customer {reference!r} (give an id, the store's id or an e-mail address)")
    return found


def receive_reply(app: App, raw: bytes, now: datetime | None = None) -> Received:
    """An e-mail a customer sent the store (a reply to a message, say), as feedback and a
    ticket; its Message-ID keeps it from being taken twice."""
    reply = read_reply(raw)
    with app.unit_of_work() as uow:
        customer = uow.feedback.customer_by(reply.sender)
    incoming = Incoming(
        ref=f"reply:{reply.message_id}"[:255], source="reply", text=reply.text, customer_id=customer,
        subject=reply.subject or None, data={"from": reply.sender},
    )  # fmt: skip
    return receive(app, incoming, now)


GOALS_KEY = "team_goals"


def load_goals(app: App) -> Goals:
    with app.unit_of_work() as uow:
        stored = uow.settings.get(GOALS_KEY)
    if not isinstance(stored, dict):
        return Goals()
    known = {k: v for k, v in stored.items() if k in Goals.__dataclass_fields__}
    return Goals(**known)


def save_goals(app: App, goals: Goals) -> None:
    with app.unit_of_work() as uow:
        uow.settings.put(GOALS_KEY, asdict(goals), app.now())
        uow.commit()
