"""Which message earned an order: the latest open or click before it, within a window.

An order placed within ``window`` (five days by default) after a customer opened or clicked
a message is counted for that message; when several qualify, the latest touch wins, since
it is the one the customer acted on. An order with no touch in the window belongs to no
message: the store would have had it anyway, as far as this measure can tell.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Touch:
    message_id: int
    customer_id: int
    at: datetime
    template: str = ""


@dataclass(frozen=True)
class Purchase:
    order_id: int
    customer_id: int
    placed_at: datetime
    net: int  # minor units, after refunds
    currency: str


def attribute(
    touches: Iterable[Touch], purchases: Iterable[Purchase], window: timedelta
) -> dict[Purchase, int]:
    """Each purchase with a touch in the ``window`` before it, mapped to that touch's message."""
    by_customer: dict[int, list[Touch]] = {}
    for touch in touches:
        by_customer.setdefault(touch.customer_id, []).append(touch)
    for history in by_customer.values():
        history.sort(key=lambda t: t.at)
    times = {customer: [t.at for t in history] for customer, history in by_customer.items()}
    earned: dict[Purchase, int] = {}
    for purchase in purchases:
        own = by_customer.get(purchase.customer_id)
        if not own:
            continue
        latest = bisect.bisect_right(times[purchase.customer_id], purchase.placed_at) - 1
        if latest >= 0 and purchase.placed_at - own[latest].at <= window:
            earned[purchase] = own[latest].message_id
    return earned
