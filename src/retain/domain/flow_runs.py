"""One customer's run through a flow: who enters, and what each step does when it is due.

``advance`` is the whole step machine, with no I/O: given a run and the facts about its
customer, it returns the run's new position and everything to write (messages to queue,
codes, points, tasks), each with a key made of flow, step, customer and entry. The store
writes the outcome in one transaction with those keys unique, so running a step twice
(after a crash, or by two workers) can never act twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from retain.domain.conditions import FieldKind, compile_rule, holds
from retain.domain.discounts import DiscountSpec
from retain.domain.flows import (
    EXIT,
    AwardPoints,
    Branch,
    CreateTask,
    Exit,
    Flow,
    IssueCode,
    Offer,
    Send,
    Wait,
    WaitForEvent,
)
from retain.domain.money import to_minor
from retain.domain.segments import CUSTOMER_FIELDS

# Fields of the order that started a run, beside the customer's own, for conditions.
ORDER_FIELDS: dict[str, FieldKind] = {
    "order_total": "number",
    "first_order": "boolean",
    "order_items": "number",
}
RULE_FIELDS: dict[str, FieldKind] = {**CUSTOMER_FIELDS, **ORDER_FIELDS}
MAX_STEPS_AT_ONCE = 100  # a flow whose branches loop without a wait stops here


@dataclass(frozen=True)
class Run:
    id: int
    flow: str
    customer_id: int
    entry_no: int
    step: int
    entered_at: datetime
    context: dict[str, Any]  # the trigger's data, and where the run waits
    waiting_for: str | None = None


@dataclass(frozen=True)
class Event:
    """Something that happened to a customer: an order placed, a survey answered..."""

    id: int
    customer_id: int
    event: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class History:
    """A customer's entries into one flow."""

    last_entered: datetime | None
    active: bool
    entries: int


@dataclass(frozen=True)
class Entrants:
    """The customers entering one flow at one moment, column by column: each customer's
    entry number, whether the entry is held out, and the trigger's data for the run."""

    flow: str
    customers: list[int]
    entry_nos: list[int]
    holdouts: list[bool]
    contexts: list[dict[str, Any]]


@dataclass(frozen=True)
class Queued:
    """A message a flow decided to send, waiting for delivery."""

    id: int
    key: str
    customer_id: int
    template: str
    flow: str | None
    offer: dict[str, Any] | None


@dataclass(frozen=True)
class Action:
    key: str
    step: str
    kind: str  # send, code, points, task, exit
    detail: str = ""
    template: str | None = None
    offer: Offer | None = None
    title: str | None = None
    role: str | None = None
    due_at: datetime | None = None
    points: int | None = None


@dataclass
class Outcome:
    run: Run
    state: str = "active"  # active, completed
    next_run_at: datetime | None = None
    waiting_for: str | None = None
    exit_reason: str | None = None
    actions: list[Action] = field(default_factory=list)


def action_key(flow: str, step: str, customer_id: int, entry_no: int) -> str:
    return f"flow:{flow}:{step}:{customer_id}:{entry_no}"


def offer_spec(offer: Offer, currency: str, now: datetime, purpose: str) -> DiscountSpec:
    """The discount an offer gives, valid to the end of its last day."""
    if offer.kind == "percent":
        value = int(offer.value)
    elif offer.kind == "fixed":
        value = to_minor(offer.value, currency)
    else:
        value = 0
    last_day = (now + timedelta(days=offer.valid_days)).date()
    minimum = to_minor(offer.minimum_order, currency) if offer.minimum_order.strip("0.") else 0
    expires = datetime.combine(last_day, time.max, tzinfo=UTC)
    return DiscountSpec(
        offer.kind, value, currency, minimum_order=minimum, expires_at=expires, purpose=purpose[:64]
    )


def offer_from(data: Mapping[str, Any]) -> Offer:
    return Offer(
        kind=data["kind"], value=str(data.get("value", "0")), valid_days=int(data.get("valid_days", 14)),
        minimum_order=str(data.get("minimum_order", "0")),
    )  # fmt: skip


def holdouts(flow: str, customers: Sequence[int], entry_nos: Sequence[int], share: float) -> list[bool]:
    """Whether each entry of ``flow`` is held out: the same answer every time for the same
    entry (a hash, not a random draw). An entry is held out when the first eight bytes of
    the SHA-256 of ``flow:customer:entry_no``, as a fraction of 2**64, are below ``share``.

    A day can enter hundreds of thousands, so the bytes are compared, as bytes, with the
    smallest value whose fraction is not below ``share``: no division or integer per entry."""
    threshold = _holdout_threshold(share)
    if threshold == 0:
        return [False] * len(customers)
    if threshold == 2**64:
        return [True] * len(customers)
    limit = threshold.to_bytes(8, "big")
    sha256 = hashlib.sha256
    return [
        sha256(f"{flow}:{customer}:{entry_no}".encode()).digest()[:8] < limit
        for customer, entry_no in zip(customers, entry_nos, strict=True)
    ]


def _holdout_threshold(share: float) -> int:
    """The smallest ``x`` with ``x / 2**64 >= share`` (2**64 when there is none): the
    division only grows with ``x``, so a binary search finds it."""
    low, high = 0, 2**64
    while low < high:
        middle = (low + high) // 2
        if middle / 2**64 < share:
            low = middle + 1
        else:
            high = middle
    return low


def may_enter(flow: Flow, last_entered: datetime | None, active: bool, now: datetime) -> bool:
    """The re-entry policy: ``last_entered`` is the customer's latest entry into the flow."""
    if active:
        return False
    if last_entered is None:
        return True
    if flow.reentry == "never":
        return False
    if flow.reentry == "after":
        return now - last_entered >= timedelta(days=flow.reentry_days or 0)
    return True


def next_local_time(after: datetime, at: time, zone: str) -> datetime:
    """The first moment at or after ``after`` when the clock in ``zone`` reads ``at``."""
    local = after.astimezone(_zone(zone))
    candidate = datetime.combine(local.date(), at, tzinfo=local.tzinfo)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=local.tzinfo)
    return candidate.astimezone(after.tzinfo)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def advance(flow: Flow, run: Run, now: datetime, facts: Mapping[str, Any], zone: str = "UTC") -> Outcome:
    """Run ``run`` from its current step until it waits or ends."""
    context = dict(run.context)
    outcome = Outcome(run)
    step = run.step
    for _ in range(MAX_STEPS_AT_ONCE):
        if step >= len(flow.steps):
            return _finish(outcome, run, step, context, "completed")
        current = flow.steps[step]
        key = action_key(flow.name, current.id, run.customer_id, run.entry_no)
        resumed = context.get("waiting_at") == step
        if isinstance(current, Wait):
            if resumed:
                context.pop("waiting_at")
                step += 1
                continue
            due = now + timedelta(days=current.days)
            if current.until is not None:
                due = next_local_time(due, current.until, zone)
            if due <= now:
                step += 1
                continue
            context["waiting_at"] = step
            return _pause(outcome, run, step, context, due, None)
        if isinstance(current, WaitForEvent):
            if resumed:
                context.pop("waiting_at")
                seen = context.pop("seen", None) == current.event
                target = current.on_event if seen else current.on_timeout
                if target == EXIT:
                    return _finish(outcome, run, step, context, "completed", "event" if seen else "timeout")
                step = flow.step(target) if target else step + 1
                continue
            context["waiting_at"] = step
            due = now + timedelta(days=current.timeout_days)
            return _pause(outcome, run, step, context, due, current.event)
        if isinstance(current, Send):
            outcome.actions.append(
                Action(
                    key, current.id, "send", current.template, template=current.template, offer=current.offer
                )
            )
        elif isinstance(current, IssueCode):
            outcome.actions.append(Action(key, current.id, "code", current.offer.kind, offer=current.offer))
        elif isinstance(current, AwardPoints):
            outcome.actions.append(Action(key, current.id, "points", current.reason, points=current.points))
        elif isinstance(current, CreateTask):
            due_at = now + timedelta(hours=current.due_hours)
            outcome.actions.append(
                Action(
                    key,
                    current.id,
                    "task",
                    current.title,
                    title=current.title,
                    role=current.role,
                    due_at=due_at,
                )
            )
        elif isinstance(current, Branch):
            rule = compile_rule(current.condition, RULE_FIELDS)
            target = current.then if holds(rule, {**facts, **context}) else current.otherwise
            if target == EXIT:
                return _finish(outcome, run, step, context, "completed", f"branch {current.id}")
            step = flow.step(target) if target else step + 1
            continue
        elif isinstance(current, Exit):
            return _finish(outcome, run, step, context, "completed", f"exit step {current.id}")
        step += 1
    return _finish(outcome, run, step, context, "completed", "too many steps without a wait")


def _pause(
    outcome: Outcome, run: Run, step: int, context: dict[str, Any], due: datetime, event: str | None
) -> Outcome:
    outcome.run = replace(run, step=step, context=context, waiting_for=event)
    outcome.next_run_at = due
    outcome.waiting_for = event
    return outcome


def _finish(
    outcome: Outcome, run: Run, step: int, context: dict[str, Any], state: str, reason: str | None = None
) -> Outcome:
    outcome.run = replace(run, step=step, context=context, waiting_for=None)
    outcome.state = state
    outcome.exit_reason = reason
    return outcome
