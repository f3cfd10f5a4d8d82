"""Shopify's order export: one row per line item, order cells on each order's first row."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from retain.ingest.canonical import ParseSpec, canonical, first_row_of_order
from retain.ingest.columns import match_columns, normalize
from retain.ingest.files import ImportFileError
from retain.ingest.table import in_runs, read_strings, run_head

NAME = "shopify"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # 2025-12-06 10:37:33 -0500

ALIASES: dict[str, tuple[str, ...]] = {
    "__name": ("Name",),
    "__id": ("Id",),
    "email": ("Email",),
    "financial_status": ("Financial Status",),
    "paid_at": ("Paid at",),
    "accepts_marketing": ("Accepts Marketing", "Accepts Email Marketing"),
    "currency": ("Currency",),
    "subtotal": ("Subtotal",),
    "shipping": ("Shipping",),
    "tax": ("Taxes", "Tax"),
    "total": ("Total",),
    "discount_codes": ("Discount Code", "Discount Codes"),
    "discounts": ("Discount Amount",),
    "placed_at": ("Created at",),
    "quantity": ("Lineitem quantity",),
    "title": ("Lineitem name",),
    "unit_price": ("Lineitem price",),
    "sku": ("Lineitem sku", "Lineitem SKU"),
    "line_discount": ("Lineitem discount",),
    "name": ("Billing Name", "Shipping Name"),
    "phone": ("Phone", "Billing Phone", "Shipping Phone"),
    "cancelled_at": ("Cancelled at", "Canceled at"),
    "refunded": ("Refunded Amount",),
    "tags": ("Tags",),
    "source": ("Source",),
}
REQUIRED = ("__name", "email", "placed_at", "currency", "total", "title", "quantity", "unit_price")


def looks_like(header: list[str]) -> bool:
    names = {normalize(h) for h in header}
    return {"name", "lineitem name", "lineitem quantity"} <= names


def _order_key(frame: pl.DataFrame, name_column: str, id_column: str | None) -> pl.Expr:
    """Orders are identified by Id, which only the first row of an order carries, else by Name."""
    name = pl.col(name_column)
    if id_column is None:
        return name
    ident = pl.col(id_column)
    head = run_head(name_column)
    if in_runs(frame, name_column, ident.is_null() | ident.gather(head).is_not_null()):
        # Each order's rows together, and an Id on a row only when the order's first row
        # has one: the order's first Id is its first row's.
        return pl.coalesce(ident.gather(head), name)
    # (``first(ignore_nulls=True)`` is ``drop_nulls().first()`` in a third less time.)
    return pl.coalesce(ident.first(ignore_nulls=True).over(name), name)


def read(source: Path, header: list[str], delimiter: str) -> tuple[pl.DataFrame, ParseSpec]:
    sources = match_columns(header, ALIASES)
    missing = [ALIASES[f][0] for f in REQUIRED if f not in sources]
    if missing:
        raise ImportFileError(f"not a Shopify order export: missing column(s) {', '.join(missing)}")
    frame = read_strings(source, header, list(dict.fromkeys(sources.values())), delimiter)
    frame = frame.with_columns(_order_key(frame, sources["__name"], sources.get("__id")).alias("__order_key"))
    fields = {f: c for f, c in sources.items() if not f.startswith("__")} | {"order_key": "__order_key"}
    spec = ParseSpec(
        date_format=DATE_FORMAT,
        required=frozenset(f for f in REQUIRED if not f.startswith("__")),
        labels=dict(sources.items()) | {"order_key": sources["__name"]},
    )
    return canonical(frame, fields, first_row_of_order("__order_key")), spec
