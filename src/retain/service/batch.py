"""The columnar contract between importers and the store.

Imports move millions of rows, so they travel as typed Polars frames rather than one
object per row. Money columns are Int64 minor units; datetimes are UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import polars as pl

UTC_DATETIME = pl.Datetime("us", "UTC")

CUSTOMER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "customer_key": pl.String,  # identity inside the batch: external id or e-mail
    "external_id": pl.String,
    "email": pl.String,
    "name": pl.String,
    "phone": pl.String,
    "marketing_consent": pl.Boolean,
    "consent_at": UTC_DATETIME,
    "first_order_at": UTC_DATETIME,
}

PRODUCT_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "product_key": pl.String,
    "sku": pl.String,
    "title": pl.String,
    "category": pl.String,
    "price": pl.Int64,
    "currency": pl.String,
}

ORDER_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "external_id": pl.String,
    "customer_key": pl.String,
    "placed_at": UTC_DATETIME,
    "currency": pl.String,
    "subtotal": pl.Int64,
    "discounts": pl.Int64,
    "shipping": pl.Int64,
    "tax": pl.Int64,
    "total": pl.Int64,
    "refunded": pl.Int64,
    "financial_status": pl.String,
    "paid_at": UTC_DATETIME,
    "cancelled_at": UTC_DATETIME,
    "discount_codes": pl.String,
    "tags": pl.String,
    "source": pl.String,
    "item_count": pl.Int64,
    "content_hash": pl.String,
}

LINE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "order_external_id": pl.String,
    "position": pl.Int64,
    "product_key": pl.String,
    "sku": pl.String,
    "title": pl.String,
    "quantity": pl.Int64,
    "unit_price": pl.Int64,
    "line_discount": pl.Int64,
}


@dataclass(frozen=True)
class OrderBatch:
    customers: pl.DataFrame
    products: pl.DataFrame
    orders: pl.DataFrame
    lines: pl.DataFrame

    def __post_init__(self) -> None:
        for name, frame, schema in (
            ("customers", self.customers, CUSTOMER_SCHEMA),
            ("products", self.products, PRODUCT_SCHEMA),
            ("orders", self.orders, ORDER_SCHEMA),
            ("lines", self.lines, LINE_SCHEMA),
        ):
            check_schema(name, frame, schema)

    @classmethod
    def empty(cls) -> OrderBatch:
        return cls(
            customers=pl.DataFrame(schema=CUSTOMER_SCHEMA),
            products=pl.DataFrame(schema=PRODUCT_SCHEMA),
            orders=pl.DataFrame(schema=ORDER_SCHEMA),
            lines=pl.DataFrame(schema=LINE_SCHEMA),
        )


PROFILE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "customer_key": pl.String,  # external id or e-mail, as in orders
    "external_id": pl.String,
    "email": pl.String,
    "name": pl.String,
    "phone": pl.String,
    "birthday": pl.Date,
    "timezone": pl.String,
    "marketing_consent": pl.Boolean,
    "created_at": UTC_DATETIME,
    # A JSON object of the file's other columns (zero-party preferences and the like).
    "attributes": pl.String,
}


def check_schema(name: str, frame: pl.DataFrame, schema: dict[str, pl.DataType | type[pl.DataType]]) -> None:
    if frame.schema != pl.Schema(schema):
        raise TypeError(f"{name} frame has schema {frame.schema}, expected {schema}")


B = TypeVar("B")


@dataclass(frozen=True)
class ParsedFile(Generic[B]):
    """A file read and validated, not yet written anywhere."""

    format: str
    rows: int
    batch: B
    # One row per rejected input row: ``line``, ``reason`` and the row's original cells.
    rejects: pl.DataFrame

    @property
    def has_rejects(self) -> bool:
        return self.rejects.height > 0
