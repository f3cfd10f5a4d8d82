"""Write an ``OrderBatch``: insert what is new, update what changed, leave the rest alone."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from retain.domain.imports import PAID_STATUSES, ImportCounts, OrderChange
from retain.service.batch import OrderBatch
from retain.service.ports import Progress
from retain.store.bulk_base import LOOKUP_CHUNK, WRITE_CHUNK, BulkWriter
from retain.store.tables import customers, order_lines, orders, products

CONSENT_SOURCE = "order import"


class BulkOrderWriter(BulkWriter):
    def write_batch(self, batch: OrderBatch, progress: Progress) -> ImportCounts:
        counts = ImportCounts()
        customer_ids = self._customers(batch.customers, counts)
        product_ids = self._products(batch.products, counts)
        new, changed = self._order_rows(batch.orders, customer_ids, counts)
        order_ids = pl.concat([new.select("external_id", "id"), changed.select("external_id", "id")]).rename(
            {"external_id": "order_external_id", "id": "order_id"}
        )
        if batch.lines.height < WRITE_CHUNK:
            self._write_orders(new, changed, progress)
            self._lines(_line_rows(batch.lines, order_ids, product_ids), counts, progress)
            return counts
        # The lines' joins are Polars work, which lets go of the interpreter, as SQLite
        # does at every statement: they are done while the orders are written.
        with ThreadPoolExecutor(max_workers=1) as pool:
            joined = pool.submit(_line_rows, batch.lines, order_ids, product_ids)
            self._write_orders(new, changed, progress)
            self._lines(joined.result(), counts, progress)
        return counts

    # -- customers ------------------------------------------------------------------

    def _customers(self, batch: pl.DataFrame, counts: ImportCounts) -> pl.DataFrame:
        """Inserts new customers, updates changed ones; returns customer_key -> customer_id."""
        existing = self.existing_customers(batch, "consent_source")
        new = batch.join(existing, on="customer_key", how="anti")
        new = new.with_columns(self.new_ids(customers, new.height))
        self.insert(
            customers,
            new.select(
                "id", "external_id", "email", "name", "phone",
                pl.col("first_order_at").alias("created_at"),
                "marketing_consent",
                pl.when(pl.col("consent_at").is_not_null()).then(pl.lit(CONSENT_SOURCE)).alias("consent_source"),
                "consent_at",
                pl.lit("{}").alias("attributes"),
            ),
        )  # fmt: skip
        counts.customers_created = new.height
        counts.customers_updated = self._update_customers(batch, existing)
        return pl.concat([existing.select("customer_key", "id"), new.select("customer_key", "id")]).rename(
            {"id": "customer_id"}
        )

    def _update_customers(self, batch: pl.DataFrame, existing: pl.DataFrame) -> int:
        """Fill in what the file adds; consent changes only when the file's statement is newer."""
        merged = batch.join(existing, on="customer_key", how="inner", suffix="_old")
        newer_consent = pl.col("consent_at").is_not_null() & (
            pl.col("consent_at_old").is_null() | (pl.col("consent_at") > pl.col("consent_at_old"))
        )
        merged = merged.with_columns(
            pl.coalesce("name", "name_old").alias("name"),
            pl.coalesce("phone", "phone_old").alias("phone"),
            pl.when(newer_consent).then("marketing_consent").otherwise("marketing_consent_old").alias("marketing_consent"),
            pl.when(newer_consent).then("consent_at").otherwise("consent_at_old").alias("consent_at"),
            pl.min_horizontal("first_order_at", "created_at").alias("created_at_new"),
            newer_consent.alias("__newer_consent"),
        )  # fmt: skip
        changed = merged.filter(
            pl.col("name").ne_missing(pl.col("name_old"))
            | pl.col("phone").ne_missing(pl.col("phone_old"))
            | pl.col("marketing_consent").ne_missing(pl.col("marketing_consent_old"))
            | pl.col("consent_at").ne_missing(pl.col("consent_at_old"))
            | pl.col("created_at_new").ne_missing(pl.col("created_at"))
        )
        self.update(
            customers,
            changed.select(
                "id", "name", "phone", "marketing_consent", "consent_at",
                pl.col("created_at_new").alias("created_at"),
                # An older statement leaves the source of the newer one in place.
                pl.when("__newer_consent").then(pl.lit(CONSENT_SOURCE)).otherwise("consent_source")
                .alias("consent_source"),
            ),
        )  # fmt: skip
        return changed.height

    # -- products -------------------------------------------------------------------

    def _products(self, batch: pl.DataFrame, counts: ImportCounts) -> pl.DataFrame:
        keys = batch["product_key"].to_list()
        existing = self.lookup(products, "key", keys, "id", "title", "category", "price").rename(
            {"key": "product_key"}
        )
        new = batch.join(existing, on="product_key", how="anti")
        new = new.with_columns(self.new_ids(products, new.height))
        self.insert(products, new.rename({"product_key": "key"}))
        counts.products_created = new.height
        known = batch.join(existing, on="product_key", suffix="_old")
        changed = known.with_columns(pl.coalesce("category", "category_old").alias("category")).filter(
            pl.col("title").ne_missing(pl.col("title_old"))
            | pl.col("category").ne_missing(pl.col("category_old"))
            | pl.col("price").ne_missing(pl.col("price_old"))
        )
        self.update(products, changed.select("id", "title", "category", "price"))
        return pl.concat([existing.select("product_key", "id"), new.select("product_key", "id")]).rename(
            {"id": "product_id"}
        )

    # -- orders and lines -----------------------------------------------------------

    def _order_rows(
        self, batch: pl.DataFrame, customer_ids: pl.DataFrame, counts: ImportCounts
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(new orders with their ids, changed orders) to write; the rest are unchanged."""
        existing = self.lookup(orders, "external_id", batch["external_id"].to_list(), "id", "content_hash")
        rows = batch.join(customer_ids, on="customer_key", how="left").drop("customer_key")
        rows = rows.join(existing.rename({"content_hash": "__old_hash"}), on="external_id", how="left")
        new = rows.filter(pl.col("id").is_null()).drop("id", "__old_hash")
        new = new.with_columns(self.new_ids(orders, new.height))
        changed = rows.filter(pl.col("id").is_not_null() & (pl.col("content_hash") != pl.col("__old_hash")))
        counts.orders_created = new.height
        counts.orders_updated = changed.height
        counts.orders_unchanged = rows.height - new.height - changed.height
        counts.changes = self._payments_and_refunds(changed)
        return new, changed.drop("__old_hash")

    def _payments_and_refunds(self, changed: pl.DataFrame) -> list[OrderChange]:
        """The changed orders now paid that were not, or refunded beyond what was stored."""
        if changed.height == 0:
            return []
        old = self.lookup(orders, "id", changed["id"].to_list(), "financial_status", "paid_at", "refunded")
        both = changed.select("id", "customer_id", "financial_status", "paid_at", "refunded").join(
            old, on="id", suffix="_old"
        )
        found = both.select(
            "id",
            "customer_id",
            (_paid("financial_status", "paid_at") & ~_paid("financial_status_old", "paid_at_old")).alias(
                "paid"
            ),
            pl.col("refunded_old").fill_null(0),
            pl.col("refunded").fill_null(0),
        ).filter(pl.col("paid") | (pl.col("refunded") > pl.col("refunded_old")))
        return [OrderChange(*row) for row in found.sort("id").iter_rows()]

    def _write_orders(self, new: pl.DataFrame, changed: pl.DataFrame, progress: Progress) -> None:
        """Inserts the new orders; updates the changed ones and drops their old lines."""
        self.insert(orders, new, progress)
        self.update(orders, changed.drop("external_id"))
        self._delete_lines(changed["id"].to_list())

    def _lines(self, rows: pl.DataFrame, counts: ImportCounts, progress: Progress) -> None:
        """Inserts the lines of the orders written (``_line_rows``)."""
        self.insert(order_lines, rows, progress)
        counts.lines_written = rows.height

    def _delete_lines(self, order_ids: list[int]) -> None:
        for start in range(0, len(order_ids), LOOKUP_CHUNK):
            part = order_ids[start : start + LOOKUP_CHUNK]
            marks = ", ".join([self._mark] * len(part))
            self.connection.exec_driver_sql(
                f"DELETE FROM {order_lines.name} WHERE order_id IN ({marks})", tuple(part)
            )


def _paid(status: str, paid_at: str) -> pl.Expr:
    return pl.col(paid_at).is_not_null() | pl.col(status).str.to_lowercase().is_in(
        sorted(PAID_STATUSES)
    ).fill_null(False)


def _line_rows(batch: pl.DataFrame, order_ids: pl.DataFrame, product_ids: pl.DataFrame) -> pl.DataFrame:
    """The lines of the orders written (new and changed), as ``order_lines`` rows."""
    return (
        batch.join(order_ids, on="order_external_id", how="inner")
        .join(product_ids, on="product_key", how="left")
        .select(
            "order_id",
            "position",
            "product_id",
            "sku",
            "title",
            "quantity",
            "unit_price",
            "line_discount",
        )
    )
