"""From validated rows to the ``OrderBatch`` the store writes."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from retain.ingest.canonical import ORDER_ROW
from retain.ingest.table import RECORD, in_runs, run_head
from retain.ingest.validate import HAS_LINE
from retain.service.batch import (
    CUSTOMER_SCHEMA,
    LINE_SCHEMA,
    ORDER_SCHEMA,
    PRODUCT_SCHEMA,
    OrderBatch,
)

_STAMPS = ("placed_at", "paid_at", "cancelled_at")
# What an order's content hash is taken of: every column of ``_orders`` but its stamps, as
# text, then the stamps as epoch microseconds (casting integers to text is cheap), then
# its lines.
_DIGEST = pl.concat_str(
    pl.all().exclude("__lines", *_STAMPS).cast(pl.String).fill_null("\x00"),
    pl.col(*_STAMPS).dt.epoch("us").cast(pl.String).fill_null("\x00"),
    "__lines",
    separator="\x1f",
)
_HASH_CHUNK = 100_000  # orders; from two chunks on, hashing overlaps the rest
_CUSTOMER_KEY = pl.coalesce(pl.col("customer_id"), pl.col("email"))
_PRODUCT_KEY = pl.coalesce(pl.col("sku"), pl.lit("title:") + pl.col("title").str.to_lowercase())
# The cells each part of the batch is made of.
_ORDER_CELLS = (
    "order_key", "customer_id", "email", "placed_at", "currency", "subtotal", "discounts", "shipping",
    "tax", "total", "refunded", "financial_status", "paid_at", "cancelled_at", "discount_codes", "tags",
    "source", "item_count",
)  # fmt: skip
_CUSTOMER_CELLS = ("customer_id", "email", "name", "phone", "accepts_marketing", "placed_at")
_PRODUCT_CELLS = ("sku", "title", "category", "unit_price", "currency")


def build_batch(rows: pl.DataFrame) -> OrderBatch:
    """Rows must be valid and sorted by record; orders keep the file's first-seen order."""
    lines = _lines(rows)
    orders = _orders(rows, lines)
    if orders.height < _HASH_CHUNK:
        hashes = _hash(orders.select(_DIGEST).to_series())
        customers, products = _customers(rows), _products(rows)
    else:
        # The digests are Python work, holding the interpreter but one core: a thread hashes
        # each chunk while Polars, which lets go of the interpreter, makes the next chunk's
        # texts, and then the customers and products.
        with ThreadPoolExecutor(max_workers=1) as pool:
            parts = [
                pool.submit(_hash, orders.slice(start, _HASH_CHUNK).select(_DIGEST).to_series())
                for start in range(0, orders.height, _HASH_CHUNK)
            ]
            customers, products = _customers(rows), _products(rows)
            hashes = pl.concat([part.result() for part in parts])
    return OrderBatch(
        customers=customers,
        products=products,
        orders=orders.with_columns(hashes.alias("content_hash")).drop("__lines").cast(ORDER_SCHEMA),  # type: ignore[arg-type]
        lines=lines,
    )


def _lines(rows: pl.DataFrame) -> pl.DataFrame:
    items = rows.filter(pl.col(HAS_LINE) & (pl.col("quantity").fill_null(1) != 0))
    return items.select(
        pl.col("order_key").alias("order_external_id"),
        _position(items).alias("position"),
        _PRODUCT_KEY.alias("product_key"),
        pl.col("sku"),
        pl.coalesce(pl.col("title"), pl.col("sku")).alias("title"),
        pl.col("quantity").fill_null(1),
        pl.col("unit_price").fill_null(0),
        pl.col("line_discount").fill_null(0),
    ).cast(LINE_SCHEMA)  # type: ignore[arg-type]


def _position(items: pl.DataFrame) -> pl.Expr:
    """Each line's place in its order (1, 2, ...) in file order."""
    if in_runs(items, "order_key", pl.col(RECORD).diff().fill_null(1) > 0):
        # The place is the row's distance from its order's first row: no ranking needed.
        return pl.int_range(pl.len(), dtype=pl.Int64) - run_head("order_key") + 1
    return pl.col(RECORD).rank("ordinal").over("order_key").cast(pl.Int64)


def _orders(rows: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The orders' columns, and ``__lines``, their lines as text for the digest."""
    line_text = pl.concat_str(
        "position", "product_key", "title", "quantity", "unit_price", "line_discount", separator="\x1f"
    )
    sums = (
        pl.col("quantity").sum().alias("__items"),
        (pl.col("quantity") * pl.col("unit_price") - pl.col("line_discount")).sum().alias("__amount"),
        line_text.alias("__lines"),  # a list, joined below: cheaper than joining inside the group-by
    )
    heads = _heads(rows, *_ORDER_CELLS)  # exactly one per order
    # Exports list each order's lines together, in the orders' order: then the runs of one
    # order's lines, numbered, are the groups, and they line up with the order rows, so
    # neither the group-by nor the join needs to hash the texts.
    key, joined = pl.col("order_external_id"), pl.col("__lines").list.join("\x1e")
    runs = lines.group_by(key.rle_id().alias("__run"), maintain_order=True).agg(key.first(), *sums)
    if runs["order_external_id"].equals(heads["order_key"]):
        per_order = runs.drop("__run", "order_external_id").with_columns(joined)
        orders = pl.concat([heads, per_order], how="horizontal")
    else:
        per_order = lines.group_by(key).agg(*sums).with_columns(joined)
        orders = heads.join(per_order, left_on="order_key", right_on="order_external_id", how="left")
    orders = orders.select(
        pl.col("order_key").alias("external_id"),
        _CUSTOMER_KEY.alias("customer_key"),
        "placed_at",
        "currency",
        pl.coalesce("subtotal", "__amount", pl.lit(0)).alias("subtotal"),
        *(pl.col(c).fill_null(0) for c in ("discounts", "shipping", "tax")),
        pl.coalesce("total", "__amount", pl.lit(0)).alias("total"),
        pl.col("refunded").fill_null(0),
        pl.col("financial_status").str.to_lowercase().str.replace_all(" ", "_").fill_null("unknown"),
        "paid_at",
        "cancelled_at",
        "discount_codes",
        "tags",
        "source",
        pl.coalesce("item_count", "__items", pl.lit(0)).alias("item_count"),
        pl.col("__lines").fill_null(""),
    )
    return orders


def _hash(texts: pl.Series) -> pl.Series:
    # A stable digest (Polars' own hash may change between versions, and stored digests
    # must keep matching); bytes straight from Polars spare an encode per order.
    blake2b = hashlib.blake2b
    digests = [blake2b(raw, digest_size=16).hexdigest() for raw in texts.cast(pl.Binary).to_list()]
    return pl.Series(digests, dtype=pl.String)


def _heads(rows: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """The order rows, with only ``columns``: filtering every column would copy them all."""
    return rows.select(*columns, ORDER_ROW).filter(pl.col(ORDER_ROW)).drop(ORDER_ROW)


def _customers(rows: pl.DataFrame) -> pl.DataFrame:
    heads = _heads(rows, RECORD, *_CUSTOMER_CELLS).with_columns(_CUSTOMER_KEY.alias("customer_key"))
    latest = heads.sort("placed_at", RECORD)

    def newest(column: str) -> pl.Expr:
        return pl.col(column).last(ignore_nulls=True)

    return (
        latest.group_by("customer_key", maintain_order=True)
        .agg(
            newest("customer_id").alias("external_id"),
            newest("email"),
            newest("name"),
            newest("phone"),
            newest("accepts_marketing").alias("marketing_consent"),
            pl.col("placed_at").filter(pl.col("accepts_marketing").is_not_null()).last().alias("consent_at"),
            pl.col("placed_at").min().alias("first_order_at"),
        )
        .cast(CUSTOMER_SCHEMA)  # type: ignore[arg-type]
    )


def _products(rows: pl.DataFrame) -> pl.DataFrame:
    items = rows.select(*_PRODUCT_CELLS, HAS_LINE).filter(pl.col(HAS_LINE))
    return (
        items.with_columns(_PRODUCT_KEY.alias("product_key"))
        .group_by("product_key", maintain_order=True)
        .agg(
            pl.col("sku").first(ignore_nulls=True),
            pl.coalesce(pl.col("title"), pl.col("sku")).last(ignore_nulls=True).alias("title"),
            pl.col("category").last(ignore_nulls=True),
            pl.col("unit_price").last(ignore_nulls=True).alias("price"),
            pl.col("currency").last(ignore_nulls=True),
        )
        .cast(PRODUCT_SCHEMA)  # type: ignore[arg-type]
    )
