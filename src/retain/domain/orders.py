"""Orders and their lines. Amounts are integer minor units of ``currency``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class FinancialStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    UNKNOWN = "unknown"


def parse_financial_status(raw: str | None) -> FinancialStatus:
    if not raw:
        return FinancialStatus.UNKNOWN
    try:
        return FinancialStatus(raw.strip().lower().replace(" ", "_"))
    except ValueError:
        return FinancialStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class OrderLine:
    title: str
    quantity: int
    unit_price: int
    line_discount: int = 0
    sku: str | None = None

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price - self.line_discount


@dataclass(slots=True)
class Order:
    external_id: str
    placed_at: datetime
    currency: str
    total: int
    subtotal: int = 0
    discounts: int = 0
    shipping: int = 0
    tax: int = 0
    refunded: int = 0
    financial_status: FinancialStatus = FinancialStatus.UNKNOWN
    cancelled_at: datetime | None = None
    discount_codes: tuple[str, ...] = ()
    source: str | None = None
    lines: list[OrderLine] = field(default_factory=list)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def net_revenue(self) -> int:
        """What the store kept: the total less refunds; nothing for a cancelled order."""
        if self.is_cancelled:
            return 0
        return max(self.total - self.refunded, 0)
