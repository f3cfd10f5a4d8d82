"""A lifecycle flow as data: what starts it, who may enter, its steps, and when it stops.

A flow is a small program run once per customer who enters it: a *trigger* (an event, a
segment change, a date relative to a customer field, a score crossing a threshold, or a
scheduled time), *entry conditions* (a segment rule over the customer's features), a list
of *steps* run in order (waits, messages, codes, points, staff tasks, branches, waits for
an event, exit), *exit events* that end a customer's run at once (for example, an order),
a *re-entry policy*, and a *holdout share*: entrants held back who receive nothing, so the
flow's effect can be measured against them.

Steps are named by ``id``; branches and event waits jump to a named step or to ``exit``.
Everything here is checked by ``Flow.problems()``, which names the step at fault; the YAML
reader adds the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Literal, get_args

EventName = Literal[
    "order_placed", "order_paid", "refunded", "survey_answered", "ticket_resolved", "points_changed",
    "points_expiring", "feedback_received",
]  # fmt: skip
EVENTS: tuple[str, ...] = get_args(EventName)
# Dates a flow can be timed from, per customer.
DateField = Literal["first_order_anniversary", "birthday", "expected_next_order"]
DATE_FIELDS: tuple[str, ...] = get_args(DateField)
# Scores from the latest `retain predict` a flow can watch.
ScoreName = Literal["churn_probability", "p_alive", "predicted_clv", "predicted_orders"]
SCORES: tuple[str, ...] = get_args(ScoreName)
EXIT = "exit"  # the jump target that ends a customer's run


class FlowError(ValueError):
    """A flow that cannot run; ``path`` names the part (``steps[2].template``), ``line`` the
    line of the file when it came from one."""

    def __init__(self, message: str, path: str = "", line: int | None = None, source: str = "") -> None:
        self.message, self.path, self.line, self.source = message, path, line, source
        where = ":".join(part for part in (source, str(line) if line else "") if part)
        located = f"{path}: {message}" if path else message
        super().__init__(f"{where}: {located}" if where else located)


# --- Triggers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EventTrigger:
    """An event about the customer: ``order_placed`` when an order is imported, and so on."""

    event: str
    kind: Literal["event"] = "event"


@dataclass(frozen=True)
class SegmentTrigger:
    """Entering (or leaving) a segment such as ``rfm:At Risk`` or ``rule:vip``."""

    segment: str
    change: Literal["entered", "left"] = "entered"
    kind: Literal["segment"] = "segment"


@dataclass(frozen=True)
class DateTrigger:
    """A day relative to a customer date: ``offset_days`` after it (negative: before)."""

    date: str
    offset_days: int = 0
    kind: Literal["date"] = "date"


@dataclass(frozen=True)
class ScoreTrigger:
    """A score crossing a threshold upwards (``above``) or downwards (``below``)."""

    score: str
    above: float | None = None
    below: float | None = None
    kind: Literal["score"] = "score"


@dataclass(frozen=True)
class ScheduleTrigger:
    """Once, at a set time, for everyone the entry conditions (or ``segment``) select."""

    at: datetime
    segment: str | None = None
    kind: Literal["schedule"] = "schedule"


Trigger = EventTrigger | SegmentTrigger | DateTrigger | ScoreTrigger | ScheduleTrigger


# --- Steps ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offer:
    """A unique single-use code: ``value`` is percent points for ``percent``, an amount in
    the store currency (``"10.00"``) for ``fixed``, nothing for ``free_shipping``."""

    kind: Literal["percent", "fixed", "free_shipping"]
    value: str = "0"
    valid_days: int = 14
    minimum_order: str = "0"


@dataclass(frozen=True)
class Wait:
    """Wait ``days`` (fractions allowed), then, if ``until`` is set, until that local time."""

    id: str
    days: float = 0
    until: time | None = None
    type: Literal["wait"] = "wait"


@dataclass(frozen=True)
class Send:
    """Send a template (messages issue); with ``offer``, a unique code goes with it."""

    id: str
    template: str
    offer: Offer | None = None
    channel: Literal["email"] = "email"
    type: Literal["send"] = "send"


@dataclass(frozen=True)
class IssueCode:
    id: str
    offer: Offer
    type: Literal["code"] = "code"


@dataclass(frozen=True)
class AwardPoints:
    id: str
    points: int
    reason: str = ""
    type: Literal["points"] = "points"


@dataclass(frozen=True)
class CreateTask:
    """A task for staff: ``role`` (admin, marketer, agent) should act within ``due_hours``."""

    id: str
    title: str
    role: str = "agent"
    due_hours: int = 48
    type: Literal["task"] = "task"


@dataclass(frozen=True)
class Branch:
    """Go to ``then`` when ``condition`` (a segment rule, plus the triggering order's
    fields) holds, else to ``otherwise`` (default: the next step)."""

    id: str
    condition: dict[str, Any]
    then: str
    otherwise: str | None = None
    type: Literal["branch"] = "branch"


@dataclass(frozen=True)
class WaitForEvent:
    """Wait for ``event`` up to ``timeout_days``; go to ``on_event`` if it comes (default:
    the next step), to ``on_timeout`` if not (default: the next step)."""

    id: str
    event: str
    timeout_days: float
    on_event: str | None = None
    on_timeout: str | None = None
    type: Literal["wait_for_event"] = "wait_for_event"


@dataclass(frozen=True)
class Exit:
    id: str
    type: Literal["exit"] = "exit"


Step = Wait | Send | IssueCode | AwardPoints | CreateTask | Branch | WaitForEvent | Exit


# --- The flow ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cap:
    """At most ``messages`` marketing messages from this flow per ``days`` per customer."""

    messages: int
    days: int


@dataclass(frozen=True)
class Flow:
    name: str  # a slug: lower case, digits, dashes
    title: str
    trigger: Trigger
    steps: tuple[Step, ...]
    description: str = ""
    entry: dict[str, Any] | None = None  # a segment rule (retain.domain.conditions)
    exit_on: tuple[str, ...] = ()  # events that end a customer's run, e.g. ("order_placed",)
    # "never": once per customer; "always": whenever triggered and not running already;
    # "after": again once ``reentry_days`` have passed since the last entry.
    reentry: Literal["never", "always", "after"] = "never"
    reentry_days: int | None = None
    holdout: float = 0.1  # share of entrants who receive nothing, for measurement
    cap: Cap | None = None
    settings: dict[str, Any] = field(default_factory=dict)  # the flow's own knobs

    def step(self, step_id: str) -> int:
        """The position of step ``step_id``."""
        for position, step in enumerate(self.steps):
            if step.id == step_id:
                return position
        raise KeyError(step_id)

    def problems(self) -> list[FlowError]:
        """Everything wrong with the flow beyond its shape, each naming where."""
        found: list[FlowError] = []
        ids = [step.id for step in self.steps]
        if not self.steps:
            found.append(FlowError("a flow needs at least one step", "steps"))
        for position, step in enumerate(self.steps):
            here = f"steps[{position}]"
            if ids.count(step.id) > 1:
                found.append(FlowError(f"step id {step.id!r} is used twice", f"{here}.id"))
            if step.id == EXIT:
                found.append(FlowError(f"{EXIT!r} is reserved for leaving the flow", f"{here}.id"))
            for name in ("then", "otherwise", "on_event", "on_timeout"):
                target = getattr(step, name, None)
                if target is not None and target != EXIT and target not in ids:
                    found.append(FlowError(f"no step {target!r} to go to", f"{here}.{name}"))
            for name in ("event",):
                value = getattr(step, name, None)
                if value is not None and value not in EVENTS:
                    found.append(
                        FlowError(f"unknown event {value!r}; events: {', '.join(EVENTS)}", f"{here}.{name}")
                    )
        for event in self.exit_on:
            if event not in EVENTS:
                found.append(FlowError(f"unknown event {event!r}; events: {', '.join(EVENTS)}", "exit_on"))
        if not 0 <= self.holdout < 1:
            found.append(FlowError("holdout is a share from 0 to below 1", "holdout"))
        if self.reentry == "after" and not self.reentry_days:
            found.append(FlowError('reentry "after" needs reentry_days', "reentry_days"))
        return found
