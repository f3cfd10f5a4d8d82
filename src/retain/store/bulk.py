"""Write an ``OrderBatch``: insert what is new, update what changed, leave the rest alone.

Rows travel to the driver as tuples (``executemany`` on SQLite, ``COPY`` on PostgreSQL);
SQLAlchemy's per-row parameter processing costs three times as much and imports move
millions of rows. New rows get their ids here, so nothing has to be read back: on SQLite
the import holds the write lock from its first statement, on PostgreSQL ids come from
the table's sequence.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, Table

from retain.domain.imports import ImportCounts
from retain.service.batch import OrderBatch
from retain.service.ports import Progress
from retain.store.tables import customers, order_lines, orders, products

LOOKUP_CHUNK = 5000
WRITE_CHUNK = 50_000
CONSENT_SOURCE = "import"
_UTC = pl.Datetime("us", "UTC")
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"  # how SQLAlchemy stores DateTime on SQLite
# The polars type of every column the writer reads back.
_POLARS_TYPES: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64, "external_id": pl.String, "email": pl.String, "key": pl.String,
    "name": pl.String, "phone": pl.String, "marketing_consent": pl.Boolean,
    "consent_at": _UTC, "created_at": _UTC, "title": pl.String, "category": pl.String,
    "price": pl.Int64, "content_hash": pl.String,
}  # fmt: skip


class BulkOrderWriter:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._sqlite = connection.dialect.name == "sqlite"
        self._mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        if self._sqlite:
            # A bigger page cache keeps index inserts in memory for the length of the import.
            connection.exec_driver_sql("PRAGMA cache_size = -262144")

    def write_batch(self, batch: OrderBatch, progress: Progress) -> ImportCounts:
        counts = ImportCounts()
        customer_ids = self._customers(batch.customers, counts)
        product_ids = self._products(batch.products, counts)
        order_ids = self._orders(batch.orders, customer_ids, counts, progress)
        self._lines(batch.lines, order_ids, product_ids, counts, progress)
        return counts

    # -- plumbing ---------------------------------------------------------------------

    def _is_empty(self, table: Table) -> bool:
        return self.connection.exec_driver_sql(f"SELECT 1 FROM {table.name} LIMIT 1").first() is None

    def _lookup(self, table: Table, key: str, values: list[Any], *columns: str) -> pl.DataFrame:
        """Existing rows of ``table`` whose ``key`` is among ``values``."""
        names = [key, *columns]
        schema = {n: _POLARS_TYPES[n] for n in names}
        if not values or self._is_empty(table):
            return pl.DataFrame(schema=schema)
        select = f"SELECT {', '.join(names)} FROM {table.name} WHERE {key}"
        found: list[tuple[Any, ...]] = []
        if not self._sqlite:
            # One round trip with an array parameter; long IN lists plan badly there.
            found.extend(
                tuple(r) for r in self.connection.exec_driver_sql(f"{select} = ANY(%s)", (list(values),))
            )
        else:
            for start in range(0, len(values), LOOKUP_CHUNK):
                part = values[start : start + LOOKUP_CHUNK]
                query = f"{select} IN ({', '.join([self._mark] * len(part))})"
                found.extend(tuple(r) for r in self.connection.exec_driver_sql(query, tuple(part)))
        raw = {n: (pl.String if t == _UTC and self._sqlite else t) for n, t in schema.items()}
        frame = pl.DataFrame(found, schema=raw, orient="row")
        stamps = [n for n, t in schema.items() if t == _UTC]
        if self._sqlite and stamps:
            frame = frame.with_columns(
                pl.col(stamps).str.to_datetime(_SQLITE_DATETIME, time_unit="us", time_zone="UTC")
            )
        return frame

    def _new_ids(self, table: Table, count: int) -> pl.Series:
        """Ids for ``count`` new rows, safe against concurrent writers."""
        if count == 0:
            return pl.Series("id", [], dtype=pl.Int64)
        if self._sqlite:  # the import holds SQLite's write lock (BEGIN IMMEDIATE)
            top = self.connection.exec_driver_sql(
                f"SELECT coalesce(max(id), 0) FROM {table.name}"
            ).scalar_one()
            return pl.int_range(top + 1, top + 1 + count, dtype=pl.Int64, eager=True).alias("id")
        sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
        ids = self.connection.exec_driver_sql(
            f"SELECT nextval({sequence}) FROM generate_series(1, %s)", (count,)
        ).scalars()
        return pl.Series("id", list(ids), dtype=pl.Int64)

    def _sql_values(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Datetimes as SQLAlchemy stores them on SQLite (naive UTC text); as-is elsewhere."""
        if not self._sqlite:
            return frame
        stamps = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        return frame.with_columns(pl.col(stamps).dt.convert_time_zone("UTC").dt.strftime(_SQLITE_DATETIME))

    def _insert(self, table: Table, frame: pl.DataFrame, progress: Progress | None = None) -> None:
        if frame.height == 0:
            return
        # Into an empty table, building secondary indexes once at the end beats updating
        # them row by row (sorted builds instead of random B-tree inserts).
        deferred = list(table.indexes) if self._is_empty(table) else []
        for index in deferred:
            index.drop(self.connection)
        self._write_rows(table, frame, progress)
        for index in deferred:
            index.create(self.connection)

    def _write_rows(self, table: Table, frame: pl.DataFrame, progress: Progress | None) -> None:
        if self.connection.dialect.driver == "psycopg":
            self._copy(table, frame, progress)
            return
        names = ", ".join(frame.columns)
        marks = ", ".join([self._mark] * frame.width)
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
        rows = self._sql_values(frame)
        # The driver's own cursor, fed rows zipped from column lists: building a list of
        # tuples first costs more than SQLite's inserts of them.
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for start in range(0, rows.height, WRITE_CHUNK):
                part = rows.slice(start, WRITE_CHUNK)
                cursor.executemany(sql, zip(*(part[c].to_list() for c in part.columns), strict=True))
                if progress is not None:
                    progress(table.name, min(start + WRITE_CHUNK, rows.height), rows.height)
        finally:
            cursor.close()

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
        emails = batch.filter(pl.col("external_id").is_null())["email"].drop_nulls().to_list()
        by_email = self._lookup(customers, "email", emails, *fields).sort("id").unique("email", keep="first")
        return pl.concat(
            [by_id.rename({"external_id": "customer_key"}), by_email.rename({"email": "customer_key"})]
        )

    def _customers(self, batch: pl.DataFrame, counts: ImportCounts) -> pl.DataFrame:
        """Inserts new customers, updates changed ones; returns customer_key -> customer_id."""
        existing = self._existing_customers(batch)
        new = batch.join(existing, on="customer_key", how="anti")
        new = new.with_columns(self._new_ids(customers, new.height))
        self._insert(
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
        self._update(
            customers,
            changed.select(
                "id", "name", "phone", "marketing_consent", "consent_at",
                pl.col("created_at_new").alias("created_at"),
                pl.when("__newer_consent").then(pl.lit(CONSENT_SOURCE)).otherwise(None).alias("consent_source"),
            ),
        )  # fmt: skip
        return changed.height

    # -- products -------------------------------------------------------------------

    def _products(self, batch: pl.DataFrame, counts: ImportCounts) -> pl.DataFrame:
        keys = batch["product_key"].to_list()
        existing = self._lookup(products, "key", keys, "id", "title", "category", "price").rename(
            {"key": "product_key"}
        )
        new = batch.join(existing, on="product_key", how="anti")
        new = new.with_columns(self._new_ids(products, new.height))
        self._insert(products, new.rename({"product_key": "key"}))
        counts.products_created = new.height
        known = batch.join(existing, on="product_key", suffix="_old")
        changed = known.with_columns(pl.coalesce("category", "category_old").alias("category")).filter(
            pl.col("title").ne_missing(pl.col("title_old"))
            | pl.col("category").ne_missing(pl.col("category_old"))
            | pl.col("price").ne_missing(pl.col("price_old"))
        )
        self._update(products, changed.select("id", "title", "category", "price"))
        return pl.concat([existing.select("product_key", "id"), new.select("product_key", "id")]).rename(
            {"id": "product_id"}
        )

    # -- orders and lines -----------------------------------------------------------

    def _orders(
        self, batch: pl.DataFrame, customer_ids: pl.DataFrame, counts: ImportCounts, progress: Progress
    ) -> pl.DataFrame:
        """Writes new and changed orders; returns external_id -> order_id of those written."""
        existing = self._lookup(orders, "external_id", batch["external_id"].to_list(), "id", "content_hash")
        rows = batch.join(customer_ids, on="customer_key", how="left").drop("customer_key")
        rows = rows.join(existing.rename({"content_hash": "__old_hash"}), on="external_id", how="left")
        new = rows.filter(pl.col("id").is_null()).drop("id", "__old_hash")
        new = new.with_columns(self._new_ids(orders, new.height))
        changed = rows.filter(pl.col("id").is_not_null() & (pl.col("content_hash") != pl.col("__old_hash")))
        counts.orders_created = new.height
        counts.orders_updated = changed.height
        counts.orders_unchanged = rows.height - new.height - changed.height
        self._insert(orders, new, progress)
        self._update(orders, changed.drop("__old_hash", "external_id"))
        self._delete_lines(changed["id"].to_list())
        return pl.concat([new.select("external_id", "id"), changed.select("external_id", "id")]).rename(
            {"external_id": "order_external_id", "id": "order_id"}
        )

    def _delete_lines(self, order_ids: list[int]) -> None:
        for start in range(0, len(order_ids), LOOKUP_CHUNK):
            part = order_ids[start : start + LOOKUP_CHUNK]
            marks = ", ".join([self._mark] * len(part))
            self.connection.exec_driver_sql(
                f"DELETE FROM {order_lines.name} WHERE order_id IN ({marks})", tuple(part)
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
