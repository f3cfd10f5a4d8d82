"""An in-process DuckDB holding the store's orders as an Arrow table.

Orders are read from the store with ADBC straight into Arrow (a few hundred thousand rows
a second, no Python objects per row) and normalised to one shape whatever the backend:
``customer_id``, ``placed_at`` (UTC, no zone), ``net`` (total less refunds, minor units),
``currency``. Cancelled orders never enter.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from typing import Any, cast

import duckdb
import pyarrow as pa
import sqlglot
from sqlalchemy.engine import make_url

from retain.analytics.store_queries import PURCHASES
from retain.domain.metrics import PeriodError

ORDERS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("placed_at", pa.timestamp("us")),
        ("net", pa.int64()),
        ("currency", pa.string()),
    ]
)
SCORES_SCHEMA = pa.schema(
    [
        ("customer_id", pa.int64()),
        ("p_alive", pa.float64()),
        ("churn_probability", pa.float64()),
        ("predicted_orders", pa.float64()),
        ("predicted_clv", pa.int64()),
    ]
)
_POSTGRES_ORDERS = (
    "SELECT customer_id, placed_at AT TIME ZONE 'UTC' AS placed_at, total - refunded AS net, currency"
    " FROM orders WHERE cancelled_at IS NULL"
)


def _read(url: str, what: str, postgres_query: str) -> pa.Table:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        # In a child process: see retain.analytics.snapshot for why.
        done = subprocess.run(
            [sys.executable, "-m", "retain.analytics.snapshot", parsed.database or ":memory:", what],
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            lines = done.stderr.decode(errors="replace").strip().splitlines() or ["no output"]
            raise RuntimeError(f"reading the store's {what} failed: {lines[-1]}")
        return pa.ipc.open_stream(done.stdout).read_all()
    if backend == "postgresql":
        import adbc_driver_postgresql.dbapi as postgres_adbc

        uri = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with postgres_adbc.connect(uri) as connection, connection.cursor() as cursor:
            cursor.execute(postgres_query)
            return cursor.fetch_arrow_table()
    raise ValueError(f"analytics cannot read a {backend} store")


def read_orders(url: str) -> pa.Table:
    """The store's non-cancelled orders as Arrow, in the shape of ``ORDERS_SCHEMA``."""
    # SQLite keeps SQLAlchemy's text timestamps; DuckDB parses them in bulk.
    return _normalise(_read(url, "orders", _POSTGRES_ORDERS))


def read_scores(url: str) -> pa.Table:
    """The stored customer scores (``retain predict``), in the shape of ``SCORES_SCHEMA``."""
    query = (
        "SELECT customer_id, p_alive, churn_probability, predicted_orders, predicted_clv FROM customer_scores"
    )
    return _read(url, "scores", query).cast(SCORES_SCHEMA)


PURCHASES_SCHEMA = pa.schema(
    [("customer_id", pa.int64()), ("placed_at", pa.timestamp("us")), ("product_id", pa.int64())]
)


def read_purchases(url: str) -> pa.Table:
    """Every product line of the non-cancelled orders: customer, time (UTC) and product."""
    postgres = PURCHASES.replace("o.placed_at", "o.placed_at AT TIME ZONE 'UTC' AS placed_at", 1)
    connection = duckdb.connect()
    connection.register("raw", _read(url, "purchases", postgres))
    relation = connection.sql(
        "SELECT customer_id::BIGINT AS customer_id, placed_at::TIMESTAMP AS placed_at,"
        " product_id::BIGINT AS product_id FROM raw"
    )
    assert relation is not None  # a SELECT always yields a relation
    return cast(pa.Table, relation.to_arrow_table()).cast(PURCHASES_SCHEMA)


def _normalise(table: pa.Table) -> pa.Table:
    connection = duckdb.connect()
    connection.register("raw", table)
    relation = connection.sql(
        "SELECT customer_id::BIGINT AS customer_id, placed_at::TIMESTAMP AS placed_at,"
        " net::BIGINT AS net, currency::VARCHAR AS currency FROM raw"
    )
    assert relation is not None  # a SELECT always yields a relation
    return cast(pa.Table, relation.to_arrow_table()).cast(ORDERS_SCHEMA)


class Analytics:
    """Queries over one snapshot of the orders."""

    def __init__(self, orders: pa.Table, scores: pa.Table | None = None) -> None:
        self.connection = duckdb.connect()
        # Stored instants are zone-less UTC; DuckDB would otherwise read them in the machine's zone.
        self.connection.execute("SET TimeZone = 'UTC'")
        # Kept as Arrow too: the models' summary reads the columns as arrays, without a query.
        self.orders: pa.Table = orders.cast(ORDERS_SCHEMA)
        self.connection.register("orders", self.orders)
        self.connection.register("scores", (scores if scores is not None else SCORES_SCHEMA.empty_table()))
        self._currencies: list[str] | None = None

    @classmethod
    def from_store(cls, url: str, *, scores: bool = False) -> Analytics:
        """The store's orders, and its latest customer scores when ``scores`` is set."""
        return cls(read_orders(url), read_scores(url) if scores else None)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, params or {}).fetchall()

    def currencies(self) -> list[str]:
        """The orders' currencies, found once: the snapshot never changes, and a distinct over
        millions of strings costs a tenth of the models' whole pipeline."""
        if self._currencies is None:
            self._currencies = [c for (c,) in self.rows("SELECT DISTINCT currency FROM orders ORDER BY 1")]
        return list(self._currencies)

    def currency(self) -> str:
        """The one currency of the orders; analytics cannot add up several."""
        currencies = self.currencies()
        if not currencies:
            raise PeriodError("the store has no orders yet; import some with `retain import orders`")
        if len(currencies) > 1:
            raise PeriodError(
                f"orders are in several currencies ({', '.join(currencies)}); analytics need one"
            )
        return currencies[0]


def naive_utc(moment: datetime) -> datetime:
    """The zone-less UTC form the engine stores instants in."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def to_dialect(sql: str, dialect: str) -> str:
    """One of our DuckDB queries in another engine's SQL, e.g. ``"spark"``."""
    return str(sqlglot.transpile(sql, read="duckdb", write=dialect)[0])
