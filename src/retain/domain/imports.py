"""What an import found and did, independent of the file format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: its 1-based physical line in the file and why."""

    line: int
    reason: str


# Financial statuses of an order that was paid in full at some point.
PAID_STATUSES = frozenset({"paid", "partially_refunded", "refunded"})


@dataclass(frozen=True, slots=True)
class OrderChange:
    """A known order that an import found newly paid, or refunded beyond what was known."""

    order_id: int
    customer_id: int | None
    newly_paid: bool
    refunded_before: int  # minor units
    refunded_now: int

    @property
    def more_refunded(self) -> bool:
        return self.refunded_now > self.refunded_before


@dataclass(slots=True)
class ImportCounts:
    customers_created: int = 0
    customers_updated: int = 0
    products_created: int = 0
    products_updated: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    lines_written: int = 0
    codes_redeemed: int = 0  # single-use discount codes the new orders carried
    changes: list[OrderChange] = field(default_factory=list)  # payments and refunds found


@dataclass(slots=True)
class ImportResult:
    format: str
    rows_read: int
    rows_rejected: int
    counts: ImportCounts = field(default_factory=ImportCounts)
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None

    @property
    def orders_in_file(self) -> int:
        c = self.counts
        return c.orders_created + c.orders_updated + c.orders_unchanged
