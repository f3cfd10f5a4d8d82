"""Plumbing shared by the bulk writers: key lookups, id allocation, inserts and updates.

Rows travel to the driver as tuples (``executemany`` on SQLite, ``COPY`` on PostgreSQL);
SQLAlchemy's per-row parameter processing costs three times as much and imports move
millions of rows. New rows get their ids here, so nothing has to be read back: on SQLite
the import holds the write lock from its first statement, on PostgreSQL ids come from
the table's sequence.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl
from sqlalchemy import JSON, Connection, Table

from retain.service.ports import Progress
from retain.store.tables import customers

LOOKUP_CHUNK = 5000
WRITE_CHUNK = 50_000
ROWS_PER_INSERT = 50
SQLITE_PARAMETERS = 32_000  # below SQLite's default limit of 32,766 bound parameters
_UTC = pl.Datetime("us", "UTC")
_CACHE_SET = "retain_cache_size_set"  # in the connection's info: the pragma below was run
_NULL = float("nan")  # what SQLite stores as NULL, see ``flat_values``
_FEW = 1000
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"  # how SQLAlchemy stores DateTime on SQLite
_CSV_TIME = "%Y-%m-%d %H:%M:%S%.6f%z"  # how COPY reads a time with its zone
# The polars type of every column a writer reads back.
_POLARS_TYPES: dict[str, pl.DataType | type[pl.DataType]] = {
    "id": pl.Int64, "external_id": pl.String, "email": pl.String, "key": pl.String,
    "name": pl.String, "phone": pl.String, "marketing_consent": pl.Boolean,
    "consent_at": _UTC, "created_at": _UTC, "title": pl.String, "category": pl.String,
    "price": pl.Int64, "content_hash": pl.String, "timezone": pl.String, "birthday": pl.Date,
    "attributes": pl.String, "consent_source": pl.String, "financial_status": pl.String,
    "paid_at": _UTC, "refunded": pl.Int64,
}  # fmt: skip


class BulkWriter:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._sqlite = connection.dialect.name == "sqlite"
        self._mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self._filled: set[str] = set()  # tables seen holding rows
        if self._sqlite and not connection.info.get(_CACHE_SET):
            # A bigger page cache keeps index inserts in memory for the length of the import.
            # It stays with the connection, which the pool hands out again: set once.
            connection.exec_driver_sql("PRAGMA cache_size = -262144")
            connection.info[_CACHE_SET] = True

    def is_empty(self, table: Table) -> bool:
        # A table once seen holding rows is taken to hold some still: were it emptied
        # since, a lookup would find nothing all the same, and an insert would only miss
        # building its indexes at the end.
        if table.name in self._filled:
            return False
        if self.connection.exec_driver_sql(f"SELECT 1 FROM {table.name} LIMIT 1").first() is None:
            return True
        self._filled.add(table.name)
        return False

    def lookup(self, table: Table, key: str, values: list[Any], *columns: str) -> pl.DataFrame:
        """Existing rows of ``table`` whose ``key`` is among ``values``."""
        names = [key, *columns]
        schema = {n: _POLARS_TYPES[n] for n in names}
        if not values or self.is_empty(table):
            return pl.DataFrame(schema=schema)
        # JSON comes back as text on every backend (PostgreSQL's driver would decode it).
        selected = [f"CAST({n} AS TEXT)" if isinstance(table.c[n].type, JSON) else n for n in names]
        select = f"SELECT {', '.join(selected)} FROM {table.name} WHERE {key}"
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
        if not self._sqlite:
            return pl.DataFrame(found, schema=schema, orient="row")
        # SQLite hands back datetimes and dates as the text SQLAlchemy stored.
        textual = [n for n, t in schema.items() if t == _UTC or t == pl.Date]
        frame = pl.DataFrame(found, schema=schema | dict.fromkeys(textual, pl.String), orient="row")
        if not textual:
            return frame
        return frame.with_columns(
            pl.col(n).str.to_datetime(_SQLITE_DATETIME, time_unit="us", time_zone="UTC")
            if schema[n] == _UTC
            else pl.col(n).str.to_date("%Y-%m-%d")
            for n in textual
        )

    def new_ids(self, table: Table, count: int) -> pl.Series:
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

    def sql_values(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Datetimes as SQLAlchemy stores them on SQLite (naive UTC text); as-is elsewhere."""
        if not self._sqlite:
            return frame
        stamps = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        dates = [c for c, t in frame.schema.items() if t == pl.Date]
        if not stamps and not dates:
            return frame  # even a query with nothing to do costs a small batch its time
        return frame.with_columns(
            pl.col(stamps).dt.convert_time_zone("UTC").dt.strftime(_SQLITE_DATETIME),
            pl.col(dates).dt.strftime("%Y-%m-%d"),
        )

    def insert(self, table: Table, frame: pl.DataFrame, progress: Progress | None = None) -> None:
        if frame.height == 0:
            return
        # Into an empty table, building secondary indexes once at the end beats updating
        # them row by row (sorted builds instead of random B-tree inserts).
        deferred = list(table.indexes) if self.is_empty(table) else []
        for index in deferred:
            index.drop(self.connection)
        self.write_rows(table, frame, progress)
        self._filled.add(table.name)
        for index in deferred:
            index.create(self.connection)

    def write_rows(self, table: Table, frame: pl.DataFrame, progress: Progress | None) -> None:
        if self.connection.dialect.driver == "psycopg":
            self.copy(table, frame, progress)
            return
        width = frame.width
        # Many rows per INSERT: SQLite steps and resets a statement once per execution,
        # so 50 rows a statement insert 40% faster than one.
        per_statement = max(1, min(ROWS_PER_INSERT, SQLITE_PARAMETERS // width))
        head = f"INSERT INTO {table.name} ({', '.join(frame.columns)}) VALUES "
        one = f"({', '.join([self._mark] * width)})"
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for start, part in zip(range(0, frame.height, WRITE_CHUNK), self._sql_chunks(frame), strict=True):
                values = self.flat_values(part)
                step = per_statement * width
                whole = len(values) // step * step
                cursor.executemany(
                    head + ", ".join([one] * per_statement),
                    (values[i : i + step] for i in range(0, whole, step)),
                )
                cursor.executemany(
                    head + one, (values[i : i + width] for i in range(whole, len(values), width))
                )
                if progress is not None:
                    progress(table.name, min(start + WRITE_CHUNK, frame.height), frame.height)
        finally:
            cursor.close()

    def _sql_chunks(self, frame: pl.DataFrame) -> Iterator[pl.DataFrame]:
        """``sql_values`` of each ``WRITE_CHUNK`` rows of the frame, in order.

        The next chunk is converted by a thread while the current one is written: Polars
        formats datetimes without holding the interpreter, and SQLite lets go of it at
        every statement, so the conversion costs the writer nothing.
        """
        if frame.height <= WRITE_CHUNK:
            if frame.height:
                yield self.sql_values(frame)
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            ahead = pool.submit(self.sql_values, frame.slice(0, WRITE_CHUNK))
            for start in range(WRITE_CHUNK, frame.height + WRITE_CHUNK, WRITE_CHUNK):
                part = ahead.result()
                if start < frame.height:
                    ahead = pool.submit(self.sql_values, frame.slice(start, WRITE_CHUNK))
                yield part

    def flat_values(self, frame: pl.DataFrame) -> list[Any]:
        """The frame's cells row after row in one list, ready to be cut into statements.

        Each column fills every ``width``-th slot of the list: no tuple per row. On SQLite,
        nulls go to the driver as NaN and booleans as integers: the driver binds NULL and
        booleans only after looking for an adapter (a tuple built and a dict searched per
        value, seven times the cost of an integer), while SQLite stores a bound NaN as NULL
        and a boolean is stored as the integer it is either way.
        """
        width, height = frame.width, frame.height
        values: list[Any] = [None] * (width * height)
        for position, column in enumerate(frame.iter_columns()):
            if self._sqlite and column.dtype == pl.Boolean:
                column = column.cast(pl.Int64)
            values[position::width] = self._cells(column) if self._sqlite else column.to_list()
        return values

    @staticmethod
    def _cells(column: pl.Series) -> list[Any]:
        """The column's values, NaN for null."""
        nulls, height = column.null_count(), column.len()
        if nulls == 0:
            return column.to_list()
        if nulls == height:
            return [_NULL] * height
        if height <= _FEW:  # a Python loop over a few values beats another Polars call
            return [_NULL if value is None else value for value in column.to_list()]
        if nulls * 2 <= height:  # mostly values: take them all, then mark the nulls
            cells = column.to_list()
            for index in column.is_null().arg_true().to_list():
                cells[index] = _NULL
            return cells
        cells = [_NULL] * height  # mostly nulls: start from nulls, then place the values
        for index, value in zip(
            column.is_not_null().arg_true().to_list(), column.drop_nulls().to_list(), strict=True
        ):
            cells[index] = value
        return cells

    def copy(self, table: Table, frame: pl.DataFrame, progress: Progress | None) -> None:
        """PostgreSQL's COPY, inside the current transaction: an order of magnitude faster.

        The rows go as the CSV Polars writes: sending them as tuples took the client as long
        as the server took to store them, on the cores they share. An empty text is quoted
        and a null is not, so COPY tells them apart."""
        driver = self.connection.connection.driver_connection
        sql = f"COPY {table.name} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv)"
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            for start in range(0, frame.height, WRITE_CHUNK):
                part = frame.slice(start, WRITE_CHUNK)
                with cursor.copy(sql) as copy:
                    copy.write(part.write_csv(include_header=False, null_value="", datetime_format=_CSV_TIME))
                if progress is not None:
                    progress(table.name, min(start + WRITE_CHUNK, frame.height), frame.height)

    def update(self, table: Table, frame: pl.DataFrame) -> None:
        """``frame`` holds ``id`` and the columns to set."""
        if frame.height == 0:
            return
        columns = [c for c in frame.columns if c != "id"]
        sets = ", ".join(f"{c} = {self._mark}" for c in columns)
        sql = f"UPDATE {table.name} SET {sets} WHERE id = {self._mark}"
        rows = self.sql_values(frame.select(*columns, "id"))
        for start in range(0, rows.height, WRITE_CHUNK):
            self.connection.exec_driver_sql(sql, rows.slice(start, WRITE_CHUNK).rows())

    def existing_customers(self, batch: pl.DataFrame, *extra: str) -> pl.DataFrame:
        """Stored customers matching ``batch``, keyed by the batch's ``customer_key``.

        By external id first; rows it does not find are matched by e-mail, unless both
        the row and the customer stored under that e-mail carry external ids, and differ.
        """
        base = ("id", "name", "phone", "marketing_consent", "consent_at", "created_at")
        fields = tuple(dict.fromkeys((*base, *(e for e in extra if e not in ("external_id", "email")))))
        by_id = self.lookup(customers, "external_id", batch["external_id"].drop_nulls().to_list(), *fields)
        by_id = batch.select("customer_key", "external_id", "email").join(by_id, on="external_id")
        rest = batch.join(by_id.select("customer_key"), on="customer_key", how="anti")
        by_email = self.lookup(
            customers, "email", rest["email"].drop_nulls().to_list(), "external_id", *fields
        )
        by_email = by_email.sort("id").unique("email", keep="first", maintain_order=True)
        by_email = (
            rest.select("customer_key", pl.col("external_id").alias("__wanted"), "email")
            .join(by_email, on="email")
            .filter(
                pl.col("external_id").is_null()
                | pl.col("__wanted").is_null()
                | (pl.col("external_id") == pl.col("__wanted"))
            )
            .drop("__wanted")
        )
        columns = ["customer_key", "external_id", "email", *fields]
        return pl.concat([by_id.select(columns), by_email.select(columns)])
