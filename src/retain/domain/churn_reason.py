"""Why a customer's churn risk is what it is, in words a person can check.

The models keep one probability per customer, not what drove it. So the reason is read from
the customer's own values of the features the models use (days since the last order against
their usual interval, how many orders, P(alive), whether the expected next order has passed),
each said with whether it pushes the risk up or down. Every statement can be checked against
the order history on the same page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

Direction = Literal["up", "down"]
HIGH, MEDIUM = 0.7, 0.4
REGULAR_ORDERS = 5


@dataclass(frozen=True, slots=True)
class Driver:
    text: str
    direction: Direction  # "up": raises the risk; "down": lowers it


@dataclass(frozen=True, slots=True)
class ChurnReason:
    level: Literal["high", "medium", "low"]
    drivers: tuple[Driver, ...]
    source: str


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _recency(orders: int, days_since_last: int | None, usual_gap: float | None) -> list[Driver]:
    if days_since_last is None:
        return []
    since = f"{_plural(days_since_last, 'day')} since the last order"
    if orders < 2 or not usual_gap:
        return [Driver(since, "up" if days_since_last > 90 else "down")]
    gap = round(usual_gap)
    ratio = days_since_last / usual_gap
    if ratio >= 2:
        return [Driver(f"{since}, {ratio:.1f}× their usual {_plural(gap, 'day')} between orders", "up")]
    if ratio >= 1:
        return [Driver(f"{since}, past their usual {_plural(gap, 'day')} between orders", "up")]
    return [Driver(f"{since}, within their usual {_plural(gap, 'day')} between orders", "down")]


def _frequency(orders: int) -> list[Driver]:
    if orders == 1:
        return [Driver("one order so far: no buying rhythm to go on yet", "up")]
    if orders >= REGULAR_ORDERS:
        return [Driver(f"{_plural(orders, 'order')}: a regular buyer", "down")]
    return []


def _alive(p_alive: float | None) -> list[Driver]:
    if p_alive is None:
        return []
    if p_alive < 0.5:
        return [Driver(f"P(alive) {p_alive:.0%}: their pattern suggests they may have stopped buying", "up")]
    if p_alive >= 0.8:
        return [Driver(f"P(alive) {p_alive:.0%}: their pattern looks like an active customer", "down")]
    return []


def _expected(expected: date | None, today: date) -> list[Driver]:
    if expected is None:
        return []
    if expected < today:
        late = (today - expected).days
        return [Driver(f"next order was expected by {expected:%Y-%m-%d}: {_plural(late, 'day')} late", "up")]
    return [Driver(f"next order expected around {expected:%Y-%m-%d}", "down")]


def churn_reason(
    *,
    churn_probability: float,
    p_alive: float | None,
    model: str,
    horizon_days: int,
    orders: int,
    days_since_last: int | None,
    usual_gap: float | None,
    expected_next_order: date | None,
    today: date,
) -> ChurnReason:
    """The risk level and the figures behind it, those raising the risk first."""
    level: Literal["high", "medium", "low"] = (
        "high" if churn_probability >= HIGH else "medium" if churn_probability >= MEDIUM else "low"
    )
    drivers = [
        *_recency(orders, days_since_last, usual_gap), *_frequency(orders), *_alive(p_alive),
        *_expected(expected_next_order, today),
    ]  # fmt: skip
    drivers.sort(key=lambda d: d.direction != "up")
    what = f"the chance of no order in the next {_plural(horizon_days, 'day')}"
    if "churn-hgb" in model:
        source = f"{what}, from a gradient-boosted model of recency, frequency, order value and gaps"
    else:
        source = f"{what}, from the BG/NBD model of each customer's buying rhythm"
    return ChurnReason(level, tuple(drivers), source)
