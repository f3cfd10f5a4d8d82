"""What an import found and did, independent of the file format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: its 1-based physical line in the file and why."""

    line: int
    reason: str


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
