"""Tickets: a customer's problem from the moment it reaches the store until it is solved.

Each ticket runs two clocks from its creation: the first response (24 hours by default) and
the resolution (72 hours). When the first-response clock runs out, the assignee (or the
team, while nobody is assigned) is reminded; when the resolution clock runs out, the ticket
is escalated: its priority goes up one step and a lead is asked to step in. Each happens
once per ticket.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, get_args

Status = Literal["open", "pending", "resolved"]
STATUSES: tuple[str, ...] = get_args(Status)
Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[str, ...] = get_args(Priority)
Resolution = Literal["fixed", "refunded", "replaced", "explained", "duplicate", "no_reply", "other"]
RESOLUTIONS: tuple[str, ...] = get_args(Resolution)
SAVED_WITHIN = timedelta(days=90)  # a complaint's customer who orders again this soon was saved


class TicketError(ValueError):
    """A ticket change that cannot be made."""


@dataclass(frozen=True)
class Sla:
    first_response: timedelta = timedelta(hours=24)
    resolution: timedelta = timedelta(hours=72)

    def due(self, created_at: datetime) -> tuple[datetime, datetime]:
        return created_at + self.first_response, created_at + self.resolution


def escalated(priority: str) -> str:
    """One step more urgent; urgent stays urgent."""
    index = PRIORITIES.index(priority)
    return PRIORITIES[min(index + 1, len(PRIORITIES) - 1)]


def priority_for(negative: bool, intends_to_leave: bool, mentions_competitor: bool) -> Priority:
    """A customer about to leave comes first; an unhappy one before a question."""
    if intends_to_leave or mentions_competitor:
        return "high"
    return "normal" if negative else "low"


def check_status(value: str) -> Status:
    if value not in STATUSES:
        raise TicketError(f"status must be one of {', '.join(STATUSES)}, not {value!r}")
    return value  # type: ignore[return-value]


def check_priority(value: str) -> Priority:
    if value not in PRIORITIES:
        raise TicketError(f"priority must be one of {', '.join(PRIORITIES)}, not {value!r}")
    return value  # type: ignore[return-value]


def check_resolution(value: str) -> Resolution:
    if value not in RESOLUTIONS:
        raise TicketError(f"the reason must be one of {', '.join(RESOLUTIONS)}, not {value!r}")
    return value  # type: ignore[return-value]


def clock(ticket: Mapping[str, Any], now: datetime) -> tuple[str, datetime] | None:
    """The clock that matters now: the first response until it is given (or until the
    resolution, the later clock, has run out too), then the resolution; None once resolved."""
    if ticket["status"] == "resolved":
        return None
    if ticket["first_response_at"] is None and ticket["resolution_due"] > now:
        return "first_response", ticket["first_response_due"]
    return "resolution", ticket["resolution_due"]


def span(length: timedelta) -> str:
    """A duration as a person reads it: 2d 4h, 5h 10m, 12m."""
    minutes = int(length.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


@dataclass(frozen=True)
class Handled:
    """One ticket as the team's figures see it."""

    assignee: str | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    complaint: bool
    csat: int | None  # the customer's 1-5 rating after resolution
    ordered_after: datetime | None  # the customer's first order after resolution


@dataclass(frozen=True)
class AgentFigures:
    agent: str
    resolved: int
    open: int
    median_first_response_hours: float | None
    median_resolution_hours: float | None
    csat: float | None  # mean 1-5 rating after resolution
    csat_responses: int
    saved: int  # complaints resolved whose customer ordered again within 90 days


def _hours(spans: Sequence[timedelta]) -> float | None:
    return statistics.median(s.total_seconds() / 3600 for s in spans) if spans else None


def agent_figures(tickets: Iterable[Handled]) -> list[AgentFigures]:
    """Figures per agent, busiest first; tickets nobody was assigned are left out."""
    mine: dict[str, list[Handled]] = {}
    for ticket in tickets:
        if ticket.assignee:
            mine.setdefault(ticket.assignee, []).append(ticket)
    found = []
    for agent, own in mine.items():
        resolved = [t for t in own if t.resolved_at is not None]
        ratings = [t.csat for t in resolved if t.csat is not None]
        found.append(
            AgentFigures(
                agent=agent,
                resolved=len(resolved),
                open=len(own) - len(resolved),
                median_first_response_hours=_hours(
                    [t.first_response_at - t.created_at for t in own if t.first_response_at is not None]
                ),
                median_resolution_hours=_hours([t.resolved_at - t.created_at for t in resolved]),  # type: ignore[operator]
                csat=statistics.fmean(ratings) if ratings else None,
                csat_responses=len(ratings),
                saved=sum(1 for t in resolved if t.complaint and saved(t)),
            )
        )
    return sorted(found, key=lambda f: (-f.resolved, f.agent))


def saved(ticket: Handled) -> bool:
    """Whether the customer ordered again within 90 days of the resolution."""
    if ticket.resolved_at is None or ticket.ordered_after is None:
        return False
    return ticket.resolved_at < ticket.ordered_after <= ticket.resolved_at + SAVED_WITHIN


@dataclass(frozen=True)
class Goals:
    """What the store expects of each agent; None: no goal for that figure."""

    first_response_hours: float | None = 24.0
    resolution_hours: float | None = 72.0
    csat: float | None = 4.5
    saved: int | None = None

    def met(self, figures: AgentFigures) -> dict[str, bool | None]:
        """Each goal met, missed, or None when there is no goal or no figure yet."""

        def at_most(value: float | None, goal: float | None) -> bool | None:
            return None if value is None or goal is None else value <= goal

        def at_least(value: float | None, goal: float | None) -> bool | None:
            return None if value is None or goal is None else value >= goal

        return {
            "first_response_hours": at_most(figures.median_first_response_hours, self.first_response_hours),
            "resolution_hours": at_most(figures.median_resolution_hours, self.resolution_hours),
            "csat": at_least(figures.csat, self.csat),
            "saved": at_least(figures.saved, self.saved),
        }
