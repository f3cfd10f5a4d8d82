"""What a flow earned: treated entrants against the holdout, with 95% intervals.

Every entrant is followed for ``window`` days from entering. Conversion is the share who
ordered at least once in that time; orders and revenue are per entrant (revenue net of
refunds, in minor units). The difference (treated minus holdout) comes with a 95% interval
from the normal approximation: for conversion, the two proportions' standard errors; for
the means, Welch's (unequal variances). With a 10% holdout an interval is wide until a few
thousand customers have entered, and the report says how many did.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Z95 = 1.959964


@dataclass(frozen=True)
class Arm:
    customers: int
    conversion: float
    orders_per_customer: float
    revenue_per_customer: float  # minor units


@dataclass(frozen=True)
class Difference:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Lift:
    window_days: int
    treated: Arm
    holdout: Arm
    conversion: Difference | None  # None when an arm is empty
    orders: Difference | None
    revenue: Difference | None


def lift(
    entries: Sequence[tuple[int, datetime, bool]],
    orders: Iterable[tuple[int, datetime, int]],
    window: timedelta,
) -> Lift:
    """``entries``: (customer, entered_at, held out); ``orders``: (customer, placed_at, net)."""
    by_customer: dict[int, list[tuple[datetime, int]]] = {}
    for customer, placed_at, net in orders:
        by_customer.setdefault(customer, []).append((placed_at, net))
    outcomes: dict[bool, list[tuple[int, int]]] = {True: [], False: []}
    for customer, entered_at, held in entries:
        end = entered_at + window
        mine = [(at, net) for at, net in by_customer.get(customer, ()) if entered_at < at <= end]
        outcomes[held].append((len(mine), sum(net for _, net in mine)))
    treated, holdout = _arm(outcomes[False]), _arm(outcomes[True])
    both = treated.customers > 0 and holdout.customers > 0
    return Lift(
        window.days,
        treated,
        holdout,
        _proportions(outcomes[False], outcomes[True]) if both else None,
        _means([n for n, _ in outcomes[False]], [n for n, _ in outcomes[True]]) if both else None,
        _means([r for _, r in outcomes[False]], [r for _, r in outcomes[True]]) if both else None,
    )


def _arm(rows: Sequence[tuple[int, int]]) -> Arm:
    n = len(rows)
    if n == 0:
        return Arm(0, 0.0, 0.0, 0.0)
    return Arm(n, sum(1 for k, _ in rows if k) / n, sum(k for k, _ in rows) / n, sum(r for _, r in rows) / n)


def _proportions(a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]) -> Difference:
    p1 = sum(1 for k, _ in a if k) / len(a)
    p2 = sum(1 for k, _ in b if k) / len(b)
    se = math.sqrt(p1 * (1 - p1) / len(a) + p2 * (1 - p2) / len(b))
    return Difference(p1 - p2, p1 - p2 - Z95 * se, p1 - p2 + Z95 * se)


def _means(a: Sequence[float], b: Sequence[float]) -> Difference:
    m1, m2 = sum(a) / len(a), sum(b) / len(b)
    v1 = sum((x - m1) ** 2 for x in a) / (len(a) - 1) if len(a) > 1 else 0.0
    v2 = sum((x - m2) ** 2 for x in b) / (len(b) - 1) if len(b) > 1 else 0.0
    se = math.sqrt(v1 / len(a) + v2 / len(b))
    return Difference(m1 - m2, m1 - m2 - Z95 * se, m1 - m2 + Z95 * se)
