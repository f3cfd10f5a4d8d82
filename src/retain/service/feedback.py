"""Listening, the use cases: take feedback in, read it, route it, and close the loop.

Every piece of feedback (a survey answer, a review, a complaint, a reply) arrives through
``receive``, in one transaction: it is kept once (its ``ref`` decides), read by the
classifier, routed to its team, added to the open action item of its category when it is a
problem rather than praise, and turned into a ticket when someone asked for help or was
unhappy (a complaint, a detractor, a one- or two-star rating). A ``feedback_received`` event
lets the acknowledgement flow answer within minutes, and ``survey_answered`` lets flows react
to the score.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from retain.domain.feedback import (
    GOODBYE_REASONS,
    TEAMS,
    TICKET_SOURCES,
    FeedbackError,
    Triage,
    check_upload,
    complaint_text,
    needs_action,
)
from retain.domain.surveys import Answer, NetPromoter, net_promoter
from retain.domain.tickets import (
    AgentFigures,
    Handled,
    Sla,
    TicketError,
    agent_figures,
    check_priority,
    check_resolution,
    escalated,
    priority_for,
)

QUOTES = 3  # example quotes per action item
TREND_WEEKS = 8
SLA = Sla()  # 24 hours to a first response, 72 to a resolution


class FeedbackStore(Protocol):
    def add(self, row: dict[str, Any]) -> int | None: ...

    def by_ref(self, ref: str) -> int | None: ...

    def get(self, feedback_id: int) -> dict[str, Any] | None: ...

    def link(self, feedback_id: int, *, ticket_id: int | None = None, item_id: int | None = None) -> None: ...

    def attach(self, feedback_id: int, filename: str, content_type: str, content: bytes) -> int: ...

    def customer_exists(self, customer_id: int) -> bool: ...

    def email_of(self, customer_id: int) -> str | None: ...

    def add_event(
        self, customer_id: int, event: str, ref: str, data: dict[str, Any], at: datetime
    ) -> bool: ...

    def scores(
        self, survey: str, since: datetime | None = None
    ) -> list[tuple[datetime, int, int | None]]: ...

    def scores_by_segment(self, survey: str, prefix: str) -> dict[str, list[int]]: ...

    def counts(self) -> list[dict[str, Any]]: ...

    def goodbye_counts(self) -> list[dict[str, Any]]: ...

    def acknowledgement_delays(self) -> list[float]: ...

    def open_item(self, category: str, now: datetime) -> int: ...

    def items(self, status: str | None = None) -> list[dict[str, Any]]: ...

    def item(self, item_id: int) -> dict[str, Any] | None: ...

    def item_feedback(self, item_id: int) -> list[dict[str, Any]]: ...

    def resolve_item(self, item_id: int, by: str, note: str, now: datetime) -> bool: ...

    def to_notify(self, item_id: int) -> list[int]: ...

    def record_notices(self, item_id: int, notices: Sequence[tuple[int, str]], now: datetime) -> None: ...

    def open_ticket(self, row: dict[str, Any]) -> int: ...

    def ticket(self, ticket_id: int, *, lock: bool = False) -> dict[str, Any] | None: ...

    def change_ticket(self, ticket_id: int, values: dict[str, Any]) -> None: ...

    def add_note(
        self, ticket_id: int, kind: str, author: str, body: str, at: datetime, message_key: str | None = None
    ) -> int: ...

    def overdue(self, now: datetime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]: ...

    def last_resolved(self, customer_id: int, before: datetime) -> int | None: ...

    def handled(self) -> list[Handled]: ...

    def add_task(
        self, key: str, customer_id: int | None, title: str, role: str, due_at: datetime, now: datetime
    ) -> bool: ...

    def offer_once(self, customer_id: int, now: datetime) -> bool: ...

    def goodbye(self, customer_id: int, action: str, reason: str | None, now: datetime) -> None: ...

    def give_kudos(
        self, agent: str, giver: str, message: str, ticket_id: int | None, now: datetime
    ) -> int: ...


class Outreach(Protocol):
    def unsubscribe(self, customer_id: int, now: datetime, source: str) -> bool: ...

    def preferences(self, customer_id: int) -> tuple[bool | None, frozenset[str], str] | None: ...

    def set_preferences(
        self, customer_id: int, subscribed: bool, muted: Iterable[str], frequency: str, now: datetime
    ) -> None: ...

    def suppress(self, address: str, reason: str, detail: str, now: datetime) -> bool: ...


class FeedbackSession(Protocol):
    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def outreach(self) -> Outreach: ...

    def commit(self) -> None: ...

    def __enter__(self) -> FeedbackSession: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


Session = Callable[[], FeedbackSession]
Classify = Callable[[Sequence[str]], list[Triage]]


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Incoming:
    """One piece of feedback as it arrives. ``ref`` names it for good: the survey
    invitation, the review platform's id, a fresh id for a complaint."""

    ref: str
    source: str
    text: str
    customer_id: int | None = None
    answer: Answer | None = None  # a survey answer or a rating
    subject: str | None = None
    uploads: tuple[Upload, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    feedback_id: int
    triage: Triage
    duplicate: bool = False  # already kept under this ref: nothing was recorded
    ticket_id: int | None = None
    item_id: int | None = None


def _sentiment(answer: Answer) -> str:
    """The customer's own score says how they feel, more surely than their words."""
    if answer.kind == "nps":
        return "positive" if answer.score >= 9 else "neutral" if answer.score >= 7 else "negative"
    return "positive" if answer.score >= 4 else "neutral" if answer.score == 3 else "negative"


def read(incoming: Incoming, classify: Classify) -> Triage:
    """The classifier's reading, with the sentiment taken from a score when there is one."""
    found = classify([incoming.text])[0] if incoming.text else Triage("other", "neutral", False, False)
    if incoming.answer is not None:
        found = Triage(found.category, _sentiment(incoming.answer), found.mentions_competitor,  # type: ignore[arg-type]
                       found.intends_to_leave)  # fmt: skip
    return found


def wants_ticket(incoming: Incoming, triage: Triage) -> bool:
    if incoming.source in TICKET_SOURCES:
        return True
    if incoming.answer is not None:
        return incoming.answer.negative
    return incoming.source == "api" and triage.sentiment == "negative"


def receive(
    incoming: Incoming, *, session: Session, classify: Classify, now: datetime, sla: Sla = SLA
) -> Received:
    """Keep, read and route one piece of feedback; raises ``FeedbackError`` for bad input,
    before anything is written."""
    if incoming.source in ("complaint", "reply"):
        complaint_text(incoming.text)
    for upload in incoming.uploads:
        check_upload(upload.filename, upload.content_type, len(upload.content))
    triage = read(incoming, classify)
    with session() as uow:
        store = uow.feedback
        if incoming.customer_id is not None and not store.customer_exists(incoming.customer_id):
            raise FeedbackError(f"no customer {incoming.customer_id}")
        answer = incoming.answer
        row = {
            "ref": incoming.ref, "customer_id": incoming.customer_id, "source": incoming.source,
            "survey": answer.kind if answer else None, "score": answer.score if answer else None,
            "text": incoming.text, "category": triage.category, "sentiment": triage.sentiment,
            "mentions_competitor": triage.mentions_competitor, "intends_to_leave": triage.intends_to_leave,
            "team": triage.team, "data": incoming.data, "created_at": now,
        }  # fmt: skip
        feedback_id = store.add(row)
        if feedback_id is None:
            known = store.by_ref(incoming.ref)
            assert known is not None
            return Received(known, triage, duplicate=True)
        for upload in incoming.uploads:
            store.attach(feedback_id, upload.filename, upload.content_type, upload.content)
        item_id = None
        if needs_action(triage, incoming.source, answer.negative if answer else None):
            item_id = store.open_item(triage.category, now)
            store.link(feedback_id, item_id=item_id)
        ticket_id = None
        if wants_ticket(incoming, triage):
            ticket_id = _open_ticket(store, incoming, triage, feedback_id, now, sla)
            store.link(feedback_id, ticket_id=ticket_id)
        customer = incoming.customer_id
        if customer is not None:
            data = {"source": incoming.source, "category": triage.category, "team": triage.team}
            store.add_event(customer, "feedback_received", f"feedback:{feedback_id}", data, now)
            if answer is not None:
                answered = {"survey": answer.kind, "score": answer.score, "negative": answer.negative}
                store.add_event(customer, "survey_answered", f"feedback:{feedback_id}", answered, now)
                if answer.kind == "csat" and (rated := store.last_resolved(customer, now)) is not None:
                    store.change_ticket(rated, {"csat": answer.score})
        uow.commit()
    return Received(feedback_id, triage, ticket_id=ticket_id, item_id=item_id)


def _open_ticket(
    store: FeedbackStore, incoming: Incoming, triage: Triage, feedback_id: int, now: datetime, sla: Sla
) -> int:
    first_due, resolution_due = sla.due(now)
    negative = triage.sentiment == "negative" or (incoming.answer is not None and incoming.answer.negative)
    subject = incoming.subject or _subject(incoming, triage)
    ticket_id = store.open_ticket(
        {
            "customer_id": incoming.customer_id, "subject": subject, "status": "open",
            "priority": priority_for(negative, triage.intends_to_leave, triage.mentions_competitor),
            "team": triage.team, "category": triage.category, "assignee": None, "source": incoming.source,
            "created_at": now, "updated_at": now, "first_response_due": first_due,
            "resolution_due": resolution_due,
        }
    )  # fmt: skip
    store.add_note(ticket_id, "event", "retain", f"opened from {incoming.source} #{feedback_id}", now)
    return ticket_id


def _subject(incoming: Incoming, triage: Triage) -> str:
    label = triage.category.replace("_", " ")
    if incoming.answer is not None:
        return f"{incoming.answer.kind.replace('_', ' ')} score {incoming.answer.score}: {label}"
    first = incoming.text.strip().splitlines()[0] if incoming.text.strip() else label
    return first if len(first) <= 80 else first[:77] + "..."


# --- tickets -------------------------------------------------------------------------------


def _live_ticket(store: FeedbackStore, ticket_id: int) -> dict[str, Any]:
    ticket = store.ticket(ticket_id, lock=True)
    if ticket is None:
        raise TicketError(f"no ticket {ticket_id}")
    return ticket


def assign(session: Session, ticket_id: int, agent: str, by: str, now: datetime) -> None:
    if not agent.strip():
        raise TicketError("name the agent to assign the ticket to")
    with session() as uow:
        _live_ticket(uow.feedback, ticket_id)
        uow.feedback.change_ticket(ticket_id, {"assignee": agent.strip()[:64], "updated_at": now})
        uow.feedback.add_note(ticket_id, "event", by, f"assigned to {agent.strip()}", now)
        uow.commit()


def set_priority(session: Session, ticket_id: int, priority: str, by: str, now: datetime) -> None:
    level = check_priority(priority)
    with session() as uow:
        _live_ticket(uow.feedback, ticket_id)
        uow.feedback.change_ticket(ticket_id, {"priority": level, "updated_at": now})
        uow.feedback.add_note(ticket_id, "event", by, f"priority set to {level}", now)
        uow.commit()


def note(session: Session, ticket_id: int, author: str, body: str, now: datetime) -> int:
    """An internal note: the customer never sees it."""
    if not body.strip():
        raise TicketError("the note is empty")
    with session() as uow:
        _live_ticket(uow.feedback, ticket_id)
        found = uow.feedback.add_note(ticket_id, "note", author, body.strip(), now)
        uow.commit()
    return found


def record_reply(session: Session, ticket_id: int, author: str, body: str, key: str, now: datetime) -> None:
    """A reply that went to the customer: the first one stops the first-response clock, and
    the ticket waits for the customer."""
    with session() as uow:
        ticket = _live_ticket(uow.feedback, ticket_id)
        values: dict[str, Any] = {"updated_at": now}
        if ticket["first_response_at"] is None:
            values["first_response_at"] = now
        if ticket["status"] == "open":
            values["status"] = "pending"
        uow.feedback.change_ticket(ticket_id, values)
        uow.feedback.add_note(ticket_id, "reply", author, body, now, key)
        uow.commit()


def resolve(
    session: Session, ticket_id: int, reason: str, resolution_note: str, by: str, now: datetime
) -> None:
    """Close a ticket with its reason; a ``ticket_resolved`` event lets flows ask the customer
    how it went."""
    why = check_resolution(reason)
    with session() as uow:
        ticket = _live_ticket(uow.feedback, ticket_id)
        if ticket["status"] == "resolved":
            raise TicketError(f"ticket {ticket_id} is resolved already")
        values = {"status": "resolved", "resolved_at": now, "resolution": why,
                  "resolution_note": resolution_note.strip() or None, "updated_at": now}  # fmt: skip
        if ticket["first_response_at"] is None:
            values["first_response_at"] = now
        uow.feedback.change_ticket(ticket_id, values)
        uow.feedback.add_note(ticket_id, "event", by, f"resolved: {why}", now)
        if ticket["customer_id"] is not None:
            data = {"ticket": ticket_id, "reason": why, "category": ticket["category"]}
            uow.feedback.add_event(ticket["customer_id"], "ticket_resolved", f"ticket:{ticket_id}", data, now)
        uow.commit()


def reopen(session: Session, ticket_id: int, by: str, now: datetime, sla: Sla = SLA) -> None:
    with session() as uow:
        ticket = _live_ticket(uow.feedback, ticket_id)
        if ticket["status"] != "resolved":
            raise TicketError(f"ticket {ticket_id} is not resolved")
        values = {"status": "open", "resolved_at": None, "resolution": None, "updated_at": now,
                  "resolution_due": now + sla.resolution, "escalated_at": None}  # fmt: skip
        uow.feedback.change_ticket(ticket_id, values)
        uow.feedback.add_note(ticket_id, "event", by, "reopened", now)
        uow.commit()


@dataclass
class SlaReport:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def check_sla(session: Session, now: datetime) -> SlaReport:
    """Remind whoever owns a ticket whose first response is late, and escalate a ticket whose
    resolution is late: its priority goes up one step and a lead gets a task. Once each."""
    report = SlaReport()
    with session() as uow:
        late_reply, late_fix = uow.feedback.overdue(now)
        for ticket in late_reply:
            owner = ticket["assignee"] or f"the {ticket['team']} team"
            _flag(uow.feedback, ticket, now, {"reminded_at": now},
                  f"first response overdue: {owner} reminded",
                  ("reminder", f"Reply to ticket #{ticket['id']}", "agent", 2))  # fmt: skip
            report.reminded.append(ticket["id"])
        for ticket in late_fix:
            level = escalated(ticket["priority"])
            _flag(uow.feedback, ticket, now, {"escalated_at": now, "priority": level},
                  f"resolution overdue: escalated, priority {level}",
                  ("escalation", f"Escalated ticket #{ticket['id']} is overdue", "lead", 4))  # fmt: skip
            report.escalated.append(ticket["id"])
        uow.commit()
    return report


def _flag(
    store: FeedbackStore,
    ticket: dict[str, Any],
    now: datetime,
    values: dict[str, Any],
    event: str,
    task: tuple[str, str, str, int],  # key suffix, title, role, hours to act
) -> None:
    """Mark a late ticket, say so in its history, and give someone a task about it."""
    suffix, title, role, hours = task
    store.change_ticket(ticket["id"], values)
    store.add_note(ticket["id"], "event", "retain", event, now)
    store.add_task(f"ticket:{ticket['id']}:{suffix}", ticket["customer_id"], f"{title}: {ticket['subject']}",
                   role, now + timedelta(hours=hours), now)  # fmt: skip


# --- the action plan -----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionItem:
    id: int
    category: str
    team: str
    status: str
    feedback: int
    customers: int
    notified: int
    trend: tuple[int, ...]  # feedback per week, oldest first, the last week ending now
    quotes: tuple[str, ...]
    opened_at: datetime
    resolved_at: datetime | None
    note: str | None


def weekly(dates: Iterable[datetime], now: datetime, weeks: int = TREND_WEEKS) -> tuple[int, ...]:
    counts = [0] * weeks
    for at in dates:
        back = int((now - at) / timedelta(weeks=1))
        if 0 <= back < weeks:
            counts[weeks - 1 - back] += 1
    return tuple(counts)


def action_plan(session: Session, now: datetime, status: str | None = None) -> list[ActionItem]:
    with session() as uow:
        found = []
        for item in uow.feedback.items(status):
            pieces = uow.feedback.item_feedback(item["id"])
            found.append(
                ActionItem(
                    id=item["id"], category=item["category"], team=TEAMS[item["category"]],
                    status=item["status"], feedback=item["feedback"], customers=item["customers"],
                    notified=item["notified"], trend=weekly((p["created_at"] for p in pieces), now),
                    quotes=tuple(p["text"] for p in pieces if p["text"])[:QUOTES],
                    opened_at=item["opened_at"], resolved_at=item["resolved_at"], note=item["note"],
                )
            )  # fmt: skip
    return found


def resolve_item(session: Session, item_id: int, by: str, resolution_note: str, now: datetime) -> list[int]:
    """Mark an action item resolved with a note; returns the customers who raised it, to be
    told. The next feedback of its category opens a new item."""
    if not resolution_note.strip():
        raise FeedbackError("say what was done: the note is what customers are told")
    with session() as uow:
        item = uow.feedback.item(item_id)
        if item is None:
            raise FeedbackError(f"no action item {item_id}")
        if not uow.feedback.resolve_item(item_id, by, resolution_note.strip(), now):
            raise FeedbackError(f"action item {item_id} is resolved already")
        customers = uow.feedback.to_notify(item_id)
        uow.commit()
    return customers


def record_notices(session: Session, item_id: int, notices: Sequence[tuple[int, str]], now: datetime) -> None:
    with session() as uow:
        uow.feedback.record_notices(item_id, notices, now)
        uow.commit()


# --- an easy goodbye -----------------------------------------------------------------------


def offer_once(session: Session, customer_id: int, now: datetime) -> bool:
    """Whether to show this customer the one gentle offer: yes the first time only."""
    with session() as uow:
        shown = uow.feedback.offer_once(customer_id, now)
        uow.commit()
    return shown


def goodbye(session: Session, customer_id: int, action: str, reason: str | None, now: datetime) -> None:
    """Unsubscribe, close the account (no message of any kind again) or, the offer taken,
    get fewer e-mails; the optional reason is kept for the feedback report."""
    if reason is not None and reason not in GOODBYE_REASONS:
        reason = "other"
    with session() as uow:
        if not uow.feedback.customer_exists(customer_id):
            raise FeedbackError(f"no customer {customer_id}")
        if action == "fewer_emails":
            current = uow.outreach.preferences(customer_id)
            muted = current[1] if current else frozenset()
            uow.outreach.set_preferences(customer_id, True, muted, "monthly", now)
        elif action in ("unsubscribe", "close_account"):
            uow.outreach.unsubscribe(customer_id, now, "goodbye page")
            if action == "close_account":
                address = uow.feedback.email_of(customer_id)
                if address:
                    uow.outreach.suppress(address, "manual", "account closed by the customer", now)
        else:
            raise FeedbackError(f"unknown choice {action!r}")
        uow.feedback.goodbye(customer_id, action, reason, now)
        uow.commit()


# --- the team ------------------------------------------------------------------------------


def team_figures(session: Session) -> list[AgentFigures]:
    with session() as uow:
        return agent_figures(uow.feedback.handled())


def kudos(
    session: Session, agent: str, giver: str, message: str, now: datetime, ticket_id: int | None = None
) -> int:
    if not agent.strip() or not message.strip():
        raise FeedbackError("kudos need an agent and a message")
    with session() as uow:
        found = uow.feedback.give_kudos(agent.strip()[:64], giver.strip()[:64] or "someone", message.strip(),
                                        ticket_id, now)  # fmt: skip
        uow.commit()
    return found


def nps_by_month(scores: Iterable[tuple[datetime, int, int | None]]) -> dict[str, NetPromoter]:
    months: dict[str, list[int]] = {}
    for at, score, _ in scores:
        months.setdefault(f"{at:%Y-%m}", []).append(score)
    return {month: net_promoter(values) for month, values in sorted(months.items())}


@dataclass(frozen=True)
class Report:
    """What customers said, in figures: the feedback report."""

    nps: NetPromoter
    nps_by_month: dict[str, NetPromoter]
    nps_by_segment: dict[str, NetPromoter]
    ratings: dict[str, tuple[float, int]]  # survey kind: (mean 1-5 score, answers)
    categories: dict[str, dict[str, int]]  # category: {sentiment: count, competitor, leaving}
    goodbyes: dict[str, dict[str, int]]  # action: {reason (or "none"): count}
    acknowledged: int
    median_acknowledgement_minutes: float | None

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON values, for ``retain feedback report --json`` and the API."""
        return {
            "nps": self.nps.as_dict(),
            "nps_by_month": {month: found.as_dict() for month, found in self.nps_by_month.items()},
            "nps_by_segment": {name: found.as_dict() for name, found in self.nps_by_segment.items()},
            "ratings": {kind: {"mean": mean, "answers": n} for kind, (mean, n) in self.ratings.items()},
            "categories": self.categories,
            "goodbyes": self.goodbyes,
            "acknowledged": self.acknowledged,
            "median_acknowledgement_minutes": self.median_acknowledgement_minutes,
        }


def report(session: Session, segments: str = "rfm:") -> Report:
    with session() as uow:
        store = uow.feedback
        nps_scores = store.scores("nps")
        by_segment = store.scores_by_segment("nps", segments)
        ratings = {}
        for kind in ("csat", "post_purchase", "review"):
            values = [score for _, score, _ in store.scores(kind)]
            if values:
                ratings[kind] = (sum(values) / len(values), len(values))
        categories: dict[str, dict[str, int]] = {}
        for row in store.counts():
            found = categories.setdefault(row["category"], {"competitor": 0, "leaving": 0})
            found[row["sentiment"]] = found.get(row["sentiment"], 0) + int(row["count"])
            found["competitor"] += int(row["competitor"] or 0)
            found["leaving"] += int(row["leaving"] or 0)
        goodbyes: dict[str, dict[str, int]] = {}
        for row in store.goodbye_counts():
            goodbyes.setdefault(row["action"], {})[row["reason"] or "none"] = int(row["count"])
        delays = sorted(store.acknowledgement_delays())
    return Report(
        nps=net_promoter(score for _, score, _ in nps_scores),
        nps_by_month=nps_by_month(nps_scores),
        nps_by_segment={
            name.removeprefix(segments): net_promoter(v) for name, v in sorted(by_segment.items())
        },
        ratings=ratings,
        categories=categories,
        goodbyes=goodbyes,
        acknowledged=len(delays),
        median_acknowledgement_minutes=statistics.median(delays) / 60 if delays else None,
    )
