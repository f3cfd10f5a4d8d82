"""From validated rows to the ``OrderBatch`` the store writes."""

from __future__ import annotations

import hashlib

import polars as pl

from retain.ingest.canonical import ORDER_ROW
from retain.ingest.table import RECORD
from retain.ingest.validate import HAS_LINE
from retain.service.batch import (
    CUSTOMER_SCHEMA,
    LINE_SCHEMA,
    ORDER_SCHEMA,
    PRODUCT_SCHEMA,
    OrderBatch,
)

_STAMPS = ("placed_at", "paid_at", "cancelled_at")
_CUSTOMER_KEY = pl.coalesce(pl.col("customer_id"), pl.col("email"))
_PRODUCT_KEY = pl.coalesce(pl.col("sku"), pl.lit("title:") + pl.col("title").str.to_lowercase())


def build_batch(rows: pl.DataFrame) -> OrderBatch:
    """Rows must be valid and sorted by record; orders keep the file's first-seen order."""
    lines = _lines(rows)
    orders = _orders(rows, lines)
    return OrderBatch(
        customers=_customers(rows),
        products=_products(rows),
        orders=orders,
        lines=lines,
    )


def _lines(rows: pl.DataFrame) -> pl.DataFrame:
    items = rows.filter(pl.col(HAS_LINE) & (pl.col("quantity").fill_null(1) != 0))
    return items.select(
        pl.col("order_key").alias("order_external_id"),
        (pl.col(RECORD).rank("ordinal").over("order_key")).cast(pl.Int64).alias("position"),
        _PRODUCT_KEY.alias("product_key"),
        pl.col("sku"),
        pl.coalesce(pl.col("title"), pl.col("sku")).alias("title"),
        pl.col("quantity").fill_null(1),
        pl.col("unit_price").fill_null(0),
        pl.col("line_discount").fill_null(0),
    ).cast(LINE_SCHEMA)  # type: ignore[arg-type]


def _orders(rows: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    line_text = pl.concat_str(
        "position", "product_key", "title", "quantity", "unit_price", "line_discount", separator="\x1f"
    )
    per_order = (
        lines.group_by("order_external_id")
        .agg(
            pl.col("quantity").sum().alias("__items"),
            (pl.col("quantity") * pl.col("unit_price") - pl.col("line_discount")).sum().alias("__amount"),
            line_text.alias("__lines"),  # a list, joined below: cheaper than joining inside the group-by
        )
        .with_columns(pl.col("__lines").list.join("\x1e"))
    )
    heads = rows.filter(pl.col(ORDER_ROW))  # exactly one per order
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
    # Datetimes enter the digest as epoch microseconds: casting integers to text is cheap.
    fields = pl.all().exclude("__lines", *_STAMPS).cast(pl.String).fill_null("\x00")
    stamps = pl.col(*_STAMPS).dt.epoch("us").cast(pl.String).fill_null("\x00")
    digest = pl.concat_str(fields, stamps, "__lines", separator="\x1f")
    hashed = orders.with_columns(digest.map_batches(_hash, return_dtype=pl.String).alias("content_hash"))
    return hashed.drop("__lines").cast(ORDER_SCHEMA)  # type: ignore[arg-type]


def _hash(texts: pl.Series) -> pl.Series:
    # A stable digest (Polars' own hash may change between versions, and stored digests
    # must keep matching); bytes straight from Polars spare an encode per order.
    blake2b = hashlib.blake2b
    digests = [blake2b(raw, digest_size=16).hexdigest() for raw in texts.cast(pl.Binary).to_list()]
    return pl.Series(digests, dtype=pl.String)


def _customers(rows: pl.DataFrame) -> pl.DataFrame:
    heads = rows.filter(pl.col(ORDER_ROW)).with_columns(_CUSTOMER_KEY.alias("customer_key"))
    latest = heads.sort("placed_at", RECORD)

    def newest(column: str) -> pl.Expr:
        return pl.col(column).drop_nulls().last()

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
    items = rows.filter(pl.col(HAS_LINE)).with_columns(_PRODUCT_KEY.alias("product_key"))
    return (
        items.group_by("product_key", maintain_order=True)
        .agg(
            pl.col("sku").drop_nulls().first(),
            pl.coalesce(pl.col("title"), pl.col("sku")).drop_nulls().last().alias("title"),
            pl.col("category").drop_nulls().last(),
            pl.col("unit_price").drop_nulls().last().alias("price"),
            pl.col("currency").drop_nulls().last(),
        )
        .cast(PRODUCT_SCHEMA)  # type: ignore[arg-type]
    )
