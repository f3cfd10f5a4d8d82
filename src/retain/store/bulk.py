"""Write an ``OrderBatch``: insert what is new, update what changed, leave the rest alone.

Rows go to the driver as tuples through ``executemany``; SQLAlchemy's per-row parameter
processing costs three times as much and imports move millions of rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
from sqlalchemy import ARRAY, Connection, Table, any_, bindparam, select

from retain.domain.imports import ImportCounts
from retain.service.batch import OrderBatch
from retain.service.ports import Progress
from retain.store.tables import customers, order_lines, orders, products

LOOKUP_CHUNK = 1000
_UTC = pl.Datetime("us", "UTC")
# The polars type of every column the writer reads back.
_POLARS_TYPES: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64, "external_id": pl.String, "email": pl.String, "key": pl.String,
    "name": pl.String, "phone": pl.String, "marketing_consent": pl.Boolean,
    "consent_at": _UTC, "created_at": _UTC, "title": pl.String, "category": pl.String,
    "price": pl.Int64, "content_hash": pl.String,
}  # fmt: skip
WRITE_CHUNK = 50_000
CONSENT_SOURCE = "import"


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class BulkOrderWriter:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._sqlite = connection.dialect.name == "sqlite"
        self._mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"

    def write_batch(self, batch: OrderBatch, progress: Progress) -> ImportCounts:
        counts = ImportCounts()
        customer_ids = self._customers(batch.customers, counts)
        product_ids = self._products(batch.products, counts)
        order_ids = self._orders(batch.orders, customer_ids, counts, progress)
        self._lines(batch.lines, order_ids, product_ids, counts, progress)
        return counts

    # -- plumbing ---------------------------------------------------------------------

    def _lookup(self, table: Table, key: str, values: list[Any], *columns: str) -> pl.DataFrame:
        """Existing rows of ``table`` whose ``key`` is among ``values``."""
        cols = [table.c[key], *(table.c[c] for c in columns)]
        found: list[tuple[Any, ...]] = []
        if self.connection.dialect.name == "postgresql" and values:
            # One round trip with an array parameter; long IN lists plan badly there.
            keys = bindparam("keys", value=list(values), type_=ARRAY(cols[0].type))
            found.extend(
                tuple(r) for r in self.connection.execute(select(*cols).where(cols[0] == any_(keys)))
            )
        else:
            for part in chunks(values, LOOKUP_CHUNK):
                query = select(*cols).where(cols[0].in_(part))
                found.extend(tuple(r) for r in self.connection.execute(query))
        schema = {c.name: _POLARS_TYPES[c.name] for c in cols}
        return pl.DataFrame(found, schema=schema, orient="row")

    def _sql_values(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Datetimes as SQLAlchemy stores them on SQLite (naive UTC text); as-is elsewhere."""
        if not self._sqlite:
            return frame
        stamps = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        return frame.with_columns(
            pl.col(stamps).dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
        )

    def _insert(self, table: Table, frame: pl.DataFrame, progress: Progress | None = None) -> None:
        if frame.height == 0:
            return
        if self.connection.dialect.driver == "psycopg":
            self._copy(table, frame, progress)
            return
        names = ", ".join(frame.columns)
        marks = ", ".join([self._mark] * frame.width)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
        rows = self._sql_values(frame)
        for start in range(0, rows.height, WRITE_CHUNK):
            self.connection.exec_driver_sql(sql, rows.slice(start, WRITE_CHUNK).rows())
            if progress is not None:
                progress(table.name, min(start + WRITE_CHUNK, rows.height), rows.height)

    def _copy(self, table: Table, frame: pl.DataFrame, progress: Progress | None) -> None:
        """PostgreSQL's COPY, inside the current transaction: an order of magnitude faster."""
        driver = self.connection.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(frame.columns)}) FROM STDIN"
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            for start in range(0, frame.height, WRITE_CHUNK):
                with cursor.copy(sql) as copy:
                    for row in frame.slice(start, WRITE_CHUNK).iter_rows():
                        copy.write_row(row)
                if progress is not None:
                    progress(table.name, min(start + WRITE_CHUNK, frame.height), frame.height)

    def _update(self, table: Table, frame: pl.DataFrame) -> None:
        """``frame`` holds ``id`` and the columns to set."""
        if frame.height == 0:
            return
        columns = [c for c in frame.columns if c != "id"]
        sets = ", ".join(f"{c} = {self._mark}" for c in columns)
        sql = f"UPDATE {table.name} SET {sets} WHERE id = {self._mark}"
        rows = self._sql_values(frame.select(*columns, "id"))
        for start in range(0, rows.height, WRITE_CHUNK):
            self.connection.exec_driver_sql(sql, rows.slice(start, WRITE_CHUNK).rows())

    # -- customers ------------------------------------------------------------------

    def _existing_customers(self, batch: pl.DataFrame) -> pl.DataFrame:
        fields = ("id", "name", "phone", "marketing_consent", "consent_at", "created_at")
        by_id = self._lookup(customers, "external_id", batch["external_id"].drop_nulls().to_list(), *fields)
        by_id = by_id.rename({"external_id": "customer_key"})
        emails = batch.filter(pl.col("external_id").is_null())["email"].drop_nulls().to_list()
        by_email = self._lookup(customers, "email", emails, *fields).sort("id").unique("email", keep="first")
        return pl.concat([by_id, by_email.rename({"email": "customer_key"})])

    def _customers(self, batch: pl.DataFrame, counts: ImportCounts) -> pl.DataFrame:
        existing = self._existing_customers(batch)
        new = batch.join(existing, on="customer_key", how="anti")
        self._insert(
            customers,
            new.select(
                "external_id",
                "email",
                "name",
                "phone",
                pl.col("first_order_at").alias("created_at"),
                "marketing_consent",
                pl.when(pl.col("consent_at").is_not_null())
                .then(pl.lit(CONSENT_SOURCE))
                .alias("consent_source"),
                "consent_at",
                pl.lit("{}").alias("attributes"),
            ),
        )
        counts.customers_created = new.height
        merged = batch.join(existing, on="customer_key", how="inner", suffix="_old")
        newer_consent = pl.col("consent_at").is_not_null() & (
            pl.col("consent_at_old").is_null() | (pl.col("consent_at") > pl.col("consent_at_old"))
        )
        update = merged.select(
            "id",
            pl.coalesce("name", "name_old").alias("name"),
            pl.coalesce("phone", "phone_old").alias("phone"),
            pl.when(newer_consent)
            .then("marketing_consent")
            .otherwise("marketing_consent_old")
            .alias("marketing_consent"),
            pl.when(newer_consent).then(pl.lit(CONSENT_SOURCE)).otherwise(None).alias("__source"),
            pl.when(newer_consent).then("consent_at").otherwise("consent_at_old").alias("consent_at"),
            pl.min_horizontal("first_order_at", "created_at").alias("created_at"),
        )
        changed = update.join(
            merged.select(
                "id", "name_old", "phone_old", "marketing_consent_old", "consent_at_old", "created_at"
            ),
            on="id",
            suffix="_old",
        )
        changed = changed.filter(
            pl.col("name").ne_missing(pl.col("name_old"))
            | pl.col("phone").ne_missing(pl.col("phone_old"))
            | pl.col("marketing_consent").ne_missing(pl.col("marketing_consent_old"))
            | pl.col("consent_at").ne_missing(pl.col("consent_at_old"))
            | pl.col("created_at").ne_missing(pl.col("created_at_old"))
        )
        self._update(
            customers, changed.select("id", "name", "phone", "marketing_consent", "consent_at", "created_at")
        )
        consent_changed = changed.filter(pl.col("__source").is_not_null()).select(
            "id", pl.col("__source").alias("consent_source")
        )
        self._update(customers, consent_changed)
        counts.customers_updated = changed.height
        return self._existing_customers(batch).select("customer_key", pl.col("id").alias("customer_id"))

    # -- products -------------------------------------------------------------------

    def _products(self, batch: pl.DataFrame, counts: ImportCounts) -> pl.DataFrame:
        keys = batch["product_key"].to_list()
        existing = self._lookup(products, "key", keys, "id", "title", "category", "price")
        new = batch.join(existing.rename({"key": "product_key"}), on="product_key", how="anti")
        self._insert(products, new.rename({"product_key": "key"}))
        counts.products_created = new.height
        known = batch.join(existing.rename({"key": "product_key"}), on="product_key", suffix="_old")
        changed = known.with_columns(pl.coalesce("category", "category_old").alias("category")).filter(
            pl.col("title").ne_missing(pl.col("title_old"))
            | pl.col("category").ne_missing(pl.col("category_old"))
            | pl.col("price").ne_missing(pl.col("price_old"))
        )
        self._update(products, changed.select("id", "title", "category", "price"))
        ids = self._lookup(products, "key", keys, "id")
        return ids.select(pl.col("key").alias("product_key"), pl.col("id").alias("product_id"))

    # -- orders and lines -----------------------------------------------------------

    def _orders(
        self, batch: pl.DataFrame, customer_ids: pl.DataFrame, counts: ImportCounts, progress: Progress
    ) -> pl.DataFrame:
        """Writes new and changed orders; returns external_id -> order_id of those written."""
        existing = self._lookup(orders, "external_id", batch["external_id"].to_list(), "id", "content_hash")
        rows = batch.join(customer_ids, on="customer_key", how="left").drop("customer_key")
        rows = rows.join(existing.rename({"content_hash": "__old_hash"}), on="external_id", how="left")
        new = rows.filter(pl.col("id").is_null()).drop("id", "__old_hash")
        changed = rows.filter(pl.col("id").is_not_null() & (pl.col("content_hash") != pl.col("__old_hash")))
        counts.orders_created = new.height
        counts.orders_updated = changed.height
        counts.orders_unchanged = rows.height - new.height - changed.height
        self._insert(orders, new, progress)
        self._update(orders, changed.drop("__old_hash", "external_id"))
        changed_ids = changed["id"].to_list()
        for part in chunks(changed_ids, LOOKUP_CHUNK):
            self.connection.execute(order_lines.delete().where(order_lines.c.order_id.in_(part)))
        created = self._lookup(orders, "external_id", new["external_id"].to_list(), "id")
        return pl.concat([created, changed.select("external_id", "id")], how="vertical_relaxed").rename(
            {"external_id": "order_external_id", "id": "order_id"}
        )

    def _lines(
        self,
        batch: pl.DataFrame,
        order_ids: pl.DataFrame,
        product_ids: pl.DataFrame,
        counts: ImportCounts,
        progress: Progress,
    ) -> None:
        rows = (
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
        self._insert(order_lines, rows, progress)
        counts.lines_written = rows.height
