"""Order histories written as literal tables: (customer, 'YYYY-MM-DD[ HH:MM]', amount in cents)."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa

from retain.analytics.engine import ORDERS_SCHEMA, Analytics


def history(*orders: tuple[int, str, int], currency: str = "USD") -> Analytics:
    when = [datetime.fromisoformat(day) for _, day, _ in orders]
    table = pa.table(
        {
            "customer_id": [c for c, _, _ in orders],
            "placed_at": when,
            "net": [amount for _, _, amount in orders],
            "currency": [currency] * len(orders),
        },
        schema=ORDERS_SCHEMA,
    )
    return Analytics(table)
