"""Running flows: who enters (``plan``) and what due runs do (``work``).

``plan`` turns what happened since it last ran into entries: new orders become events,
events end or wake runs that wait for them, and each enabled flow's trigger (an event, a
segment change, a date, a score, a scheduled time) selects customers, who enter when the
entry conditions hold and the re-entry policy allows; a deterministic share is held out.
``work`` leases due runs, advances each to its next wait, and writes the outcome in one
transaction. Both take ``now`` from the caller, so a simulation can move the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from retain.domain.conditions import Condition, compile_rule, fields_of, holds
from retain.domain.flow_runs import (
    RULE_FIELDS,
    Entrants,
    Event,
    History,
    Outcome,
    Run,
    advance,
    holdouts,
    may_enter,
)
from retain.domain.flows import (
    Branch,
    DateTrigger,
    EventTrigger,
    Flow,
    ScheduleTrigger,
    ScoreTrigger,
    SegmentTrigger,
    WaitForEvent,
)

LOOKBACK = timedelta(days=7)  # orders imported late still become events
LEASE = timedelta(minutes=5)
# Fields of customer_scores: an entry rule over these alone is read with the score itself.
SCORE_FIELDS = frozenset({"p_alive", "churn_probability", "predicted_orders", "predicted_clv"})
PLANNER = "planner_lease"  # the cursor that says who is planning, until when


class FlowStore(Protocol):
    def cursor(self, name: str) -> str | None: ...

    def set_cursor(self, name: str, value: str) -> None: ...

    def history(self, flow: str, customer_ids: Sequence[int]) -> dict[int, History]: ...

    def enter(self, now: datetime, entrants: Sequence[Entrants]) -> None: ...

    def claim(
        self, owner: str, now: datetime, lease: timedelta, limit: int, flows: Sequence[str] = ()
    ) -> list[Run]: ...

    def apply(
        self, outcomes: Sequence[Outcome], owner: str, now: datetime, codes: Any, currency: str
    ) -> int: ...

    def exit_on(self, flow: str, events: Sequence[tuple[int, datetime, str]], now: datetime) -> int: ...

    def wake(self, flow: str, events: Sequence[tuple[int, datetime, str]], now: datetime) -> int: ...


class TriggerStore(Protocol):
    def record_orders(self, since: datetime, until: datetime) -> int: ...

    def events_after(self, last_id: int, limit: int = ...) -> list[Event]: ...

    def segment_changes_after(self, last_id: int, limit: int = ...) -> list[tuple[int, str, int, str]]: ...

    def on_date(self, field: str, day: date) -> list[int]: ...

    def scored(
        self,
        score: str,
        above: float | None,
        below: float | None,
        entry: Condition | None = None,
        currency: str = "USD",
    ) -> list[int]: ...

    def everyone(self) -> list[int]: ...

    def facts(
        self, customer_ids: Sequence[int], now: datetime, currency: str, fields: Collection[str] | None = None
    ) -> dict[int, dict[str, Any]]: ...

    def timezones(self, customer_ids: Sequence[int]) -> dict[int, str]: ...


class SegmentMembers(Protocol):
    def members(self, key: str) -> set[int]: ...


class FlowSession(Protocol):
    @property
    def flows(self) -> FlowStore: ...

    @property
    def triggers(self) -> TriggerStore: ...

    @property
    def segments(self) -> SegmentMembers: ...

    @property
    def codes(self) -> Any: ...

    def commit(self) -> None: ...

    def __enter__(self) -> FlowSession: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class Counter(dict[str, int]):
    def add(self, key: str, count: int = 1) -> None:
        self[key] = self.get(key, 0) + count


@dataclass
class PlanReport:
    events: int = 0
    entered: Counter = field(default_factory=Counter)
    held_out: Counter = field(default_factory=Counter)
    exited: int = 0
    woken: int = 0


def plan(
    flows: Mapping[str, Flow],
    session: Callable[[], FlowSession],
    now: datetime,
    *,
    zone: str = "UTC",
    currency: str = "USD",
    owner: str = "planner",
) -> PlanReport:
    """Let every enabled flow's trigger select customers, and enter those who may.

    One worker plans at a time: a lease in the cursors keeps a second from entering the
    same customers twice; it simply skips planning while another holds it."""
    report = PlanReport()
    if not _take_planning(session, owner, now):
        return report
    try:
        _plan(flows, session, now, zone, currency, report)
    finally:
        with session() as uow:
            uow.flows.set_cursor(PLANNER, "")
            uow.commit()
    return report


def _take_planning(session: Callable[[], FlowSession], owner: str, now: datetime) -> bool:
    with session() as uow:
        held = uow.flows.cursor(PLANNER) or ""
        holder, _, until = held.partition("|")
        if holder and holder != owner and until and datetime.fromisoformat(until) > now:
            return False
        uow.flows.set_cursor(PLANNER, f"{owner}|{(now + LEASE).isoformat()}")
        uow.commit()
    return True


def _plan(
    flows: Mapping[str, Flow],
    session: Callable[[], FlowSession],
    now: datetime,
    zone: str,
    currency: str,
    report: PlanReport,
) -> None:
    today = now.astimezone(ZoneInfo(zone)).date()
    with session() as uow:
        store, triggers = uow.flows, uow.triggers
        seen = store.cursor("orders_seen")
        since = datetime.fromisoformat(seen) - LOOKBACK if seen else now - timedelta(seconds=1)
        triggers.record_orders(since, now)
        store.set_cursor("orders_seen", now.isoformat())
        candidates: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in flows}

        last_event = int(store.cursor("events") or 0)
        while events := triggers.events_after(last_event):
            report.events += len(events)
            last_event = events[-1].id
            for flow in flows.values():
                _react(flow, events, store, now, report, candidates[flow.name])
        store.set_cursor("events", str(last_event))

        last_change = int(store.cursor("segment_changes") or 0)
        changes = triggers.segment_changes_after(last_change)
        if changes:
            store.set_cursor("segment_changes", str(changes[-1][0]))
        for flow in flows.values():
            trigger = flow.trigger
            chosen = candidates[flow.name]
            if isinstance(trigger, SegmentTrigger):
                for _, segment, customer, change in changes:
                    if segment == trigger.segment and change == trigger.change:
                        chosen.setdefault(customer, {})
            elif isinstance(trigger, DateTrigger):
                for day in _days(store.cursor(f"dates:{flow.name}"), today):
                    for customer in triggers.on_date(trigger.date, day - timedelta(days=trigger.offset_days)):
                        chosen.setdefault(customer, {"date": day.isoformat()})
                store.set_cursor(f"dates:{flow.name}", today.isoformat())
            elif (
                isinstance(trigger, ScoreTrigger) and store.cursor(f"scores:{flow.name}") != today.isoformat()
            ):
                # Scores change when `retain predict` runs, at most daily: read them once a day.
                store.set_cursor(f"scores:{flow.name}", today.isoformat())
                entry = compile_rule(flow.entry, RULE_FIELDS) if flow.entry else None
                pushed = entry if entry is not None and fields_of(entry) <= SCORE_FIELDS else None
                for customer in triggers.scored(
                    trigger.score, trigger.above, trigger.below, pushed, currency
                ):
                    chosen.setdefault(customer, {})
            elif isinstance(trigger, ScheduleTrigger) and _due_once(store, flow.name, trigger.at, now):
                members = uow.segments.members(trigger.segment) if trigger.segment else triggers.everyone()
                for customer in sorted(members):
                    chosen.setdefault(customer, {})
        entrants = [_entrants(f, candidates[f.name], uow, now, currency, report) for f in flows.values()]
        uow.flows.enter(now, entrants)
        uow.commit()


def _due_once(store: FlowStore, name: str, at: datetime, now: datetime) -> bool:
    """Whether a scheduled time has come and not fired yet; marks it fired."""
    if at > now or store.cursor(f"schedule:{name}") == at.isoformat():
        return False
    store.set_cursor(f"schedule:{name}", at.isoformat())
    return True


def _react(
    flow: Flow,
    events: Sequence[Event],
    store: FlowStore,
    now: datetime,
    report: PlanReport,
    chosen: dict[int, dict[str, Any]],
) -> None:
    """End the runs an event stops, wake the runs waiting for it, and collect entrants."""
    if flow.exit_on:
        stops = [(e.customer_id, e.at, e.event) for e in events if e.event in flow.exit_on]
        if stops:
            report.exited += store.exit_on(flow.name, stops, now)
    awaited = {step.event for step in flow.steps if isinstance(step, WaitForEvent)}
    if awaited:
        wakes = [(e.customer_id, e.at, e.event) for e in events if e.event in awaited]
        if wakes:
            report.woken += store.wake(flow.name, wakes, now)
    if isinstance(flow.trigger, EventTrigger):
        for event in events:
            if event.event == flow.trigger.event:
                chosen[event.customer_id] = dict(event.data)


def _days(cursor: str | None, today: date) -> list[date]:
    """The days whose dates have not fired yet: only today on the first run, every day
    missed since the last run otherwise (a worker down for a weekend catches up)."""
    if cursor is None:
        return [today]
    last = date.fromisoformat(cursor)
    return [last + timedelta(days=n) for n in range(1, (today - last).days + 1)]


def _entrants(
    flow: Flow,
    chosen: Mapping[int, dict[str, Any]],
    uow: FlowSession,
    now: datetime,
    currency: str,
    report: PlanReport,
) -> Entrants:
    """Who of ``chosen`` enters ``flow``: those the re-entry policy lets in and the entry
    conditions admit, with their entry numbers and holdout."""
    ids = sorted(chosen)
    history = uow.flows.history(flow.name, ids) if ids else {}
    ids = [
        c for c in ids if c not in history or may_enter(flow, history[c].last_entered, history[c].active, now)
    ]
    if flow.entry and ids:  # the facts cost a query per thousands of customers: only for those left
        rule = compile_rule(flow.entry, RULE_FIELDS)
        facts = uow.triggers.facts(ids, now, currency, fields_of(rule))
        ids = [c for c in ids if holds(rule, {**facts.get(c, {}), **chosen[c]})]
    entry_nos = [history[c].entries + 1 if c in history else 1 for c in ids]
    held = holdouts(flow.name, ids, entry_nos, flow.holdout)
    out = sum(held)
    if out:
        report.held_out.add(flow.name, out)
    if len(ids) > out:
        report.entered.add(flow.name, len(ids) - out)
    return Entrants(flow.name, ids, entry_nos, held, [chosen[c] for c in ids])


def work(
    flows: Mapping[str, Flow],
    session: Callable[[], FlowSession],
    owner: str,
    now: datetime,
    *,
    zone: str = "UTC",
    currency: str = "USD",
    limit: int = 500,
    lease: timedelta = LEASE,
) -> int:
    """Advance up to ``limit`` due runs of enabled flows; returns how many were advanced."""
    with session() as uow:
        runs = uow.flows.claim(owner, now, lease, limit, sorted(flows))
        uow.commit()
    if not runs:
        return 0
    with session() as uow:
        branching = {name for name, flow in flows.items() if any(isinstance(s, Branch) for s in flow.steps)}
        facts = uow.triggers.facts([r.customer_id for r in runs if r.flow in branching], now, currency)
        zones = uow.triggers.timezones([r.customer_id for r in runs])
        outcomes = [
            advance(
                flows[run.flow], run, now, facts.get(run.customer_id, {}), zones.get(run.customer_id, zone)
            )
            for run in runs
        ]
        uow.flows.apply(outcomes, owner, now, uow.codes, currency)
        uow.commit()
    return len(runs)
