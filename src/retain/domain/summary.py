"""The store at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from retain.domain.money import format_money


@dataclass(frozen=True, slots=True)
class StoreSummary:
    customers: int
    orders: int
    # Net revenue (totals less refunds, cancelled orders excluded) in minor units per currency.
    revenue: dict[str, int]
    first_order_at: datetime | None
    last_order_at: datetime | None

    @property
    def revenue_text(self) -> str:
        if not self.revenue:
            return "none"
        return ", ".join(format_money(v, c) for c, v in sorted(self.revenue.items()))

    @property
    def date_range_text(self) -> str:
        if self.first_order_at is None or self.last_order_at is None:
            return "no orders yet"
        return f"{self.first_order_at:%Y-%m-%d} to {self.last_order_at:%Y-%m-%d}"
