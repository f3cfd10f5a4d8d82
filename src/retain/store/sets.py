"""``column IN (values)`` that stays cheap for thousands of values on every database.

PostgreSQL's driver turns an IN list of 5,000 ids into 5,000 parameters, and converting
them cost more than the query; one array parameter with ``= ANY`` does the same work.
``rows_among`` goes further for reads of many rows: straight to the driver.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Text, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY


def among(column: Any, values: Sequence[Any], postgres: bool) -> ColumnElement[bool]:
    """``column IN values``; on PostgreSQL, ``column = ANY(:array)``."""
    if not postgres:
        return column.in_(list(values))  # type: ignore[no-any-return]
    kind = Text() if values and isinstance(values[0], str) else BigInteger()
    return column == any_(bindparam(None, list(values), type_=ARRAY(kind)))  # type: ignore[no-any-return]


CHUNK = 5_000


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """``values`` in runs of ``size``: query parameters stay within every driver's limits."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def rows_among(connection: Connection, sql: str, ids: Sequence[int], *params: Any) -> list[Any]:
    """The rows of ``sql`` for the ``ids`` (integers) its ``{ids}`` stands for, each result
    fetched whole.

    Straight to the driver: through SQLAlchemy, a parameter compiled per id and a row built
    and processed per result were most of what planning a day cost. ``{ids}`` becomes one
    array parameter (``= ANY``) on PostgreSQL, ``IN (?, ...)`` over chunks of ids on SQLite.
    ``sql`` marks its other ``params`` with ``?``, in order; the ids take their place among
    them. Times go in as ``stamp`` makes them and come back as ``utc`` reads them.
    """
    if not ids:
        return []
    before = sql[: sql.index("{ids}")].count("?")
    head, tail = params[:before], params[before:]
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            # The array as its text: the driver's list adapter ran a regular expression per id.
            array = "{" + ",".join(map(str, ids)) + "}"
            cursor.execute(
                sql.replace("?", "%s").format(ids="= ANY(CAST(%s AS BIGINT[]))"), (*head, array, *tail)
            )
            return list(cursor.fetchall())
        found: list[Any] = []
        for part in chunks(ids):
            cursor.execute(sql.format(ids=f"IN ({', '.join('?' * len(part))})"), (*head, *part, *tail))
            found.extend(cursor.fetchall())
        return found
    finally:
        cursor.close()


def stamp(moment: datetime, connection: Connection) -> Any:
    """``moment`` as the driver takes it for a time column: naive UTC text on SQLite, as
    SQLAlchemy stores it there (so text comparisons order it right), itself elsewhere."""
    if connection.dialect.name != "sqlite":
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def utc(value: Any) -> Any:
    """A time column's value as the driver returned it, as an aware UTC datetime (None stays)."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite: naive UTC text (read with its zone: 4 times faster than replace)
        return datetime.fromisoformat(value + "+00:00")
    return value.astimezone(UTC)
