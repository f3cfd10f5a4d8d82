"""The one shape every format is mapped into before validation: strings, a row per line item."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from retain.ingest.table import RECORD

ORDER_FIELDS = (
    "order_key", "customer_id", "email", "name", "phone", "accepts_marketing", "placed_at",
    "currency", "subtotal", "discounts", "shipping", "tax", "total", "refunded",
    "financial_status", "paid_at", "cancelled_at", "discount_codes", "tags", "source", "item_count",
)  # fmt: skip
LINE_FIELDS = ("sku", "title", "category", "quantity", "unit_price", "line_discount")
FIELDS = ORDER_FIELDS + LINE_FIELDS
ORDER_ROW = "__order_row"  # the row that carries its order's order-level cells


@dataclass(frozen=True)
class ParseSpec:
    """How to read the cells of one file."""

    date_format: str | None  # None: dates are ISO 8601 and parsed as such
    timezone: str = "UTC"  # for timestamps that carry no offset
    default_currency: str | None = None
    # Fields that must not be empty: order-level ones on order rows, line ones on lines.
    required: frozenset[str] = frozenset()
    # The user's own column name for each field, so errors speak the file's language.
    labels: dict[str, str] = field(default_factory=dict)

    def label(self, name: str) -> str:
        return self.labels.get(name, name)


def canonical(frame: pl.DataFrame, sources: dict[str, str], order_row: pl.Expr) -> pl.DataFrame:
    """Rename source columns to field names; fields the file lacks become empty."""
    columns = [pl.col(RECORD)]
    for name in FIELDS:
        source = sources.get(name)
        columns.append(pl.col(source).alias(name) if source else pl.lit(None, pl.String).alias(name))
    extra = [pl.col(c) for c in frame.columns if c.startswith("__") and c != RECORD]
    return frame.select(*columns, *extra, order_row.alias(ORDER_ROW))


def first_row_of_order(key: str) -> pl.Expr:
    """True on the first row of each order, in file order."""
    return pl.col(RECORD) == pl.col(RECORD).min().over(key)
