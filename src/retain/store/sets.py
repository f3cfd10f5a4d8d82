"""``column IN (values)`` that stays cheap for thousands of values on every database.

PostgreSQL's driver turns an IN list of 5,000 ids into 5,000 parameters, and converting
them cost more than the query; one array parameter with ``= ANY`` does the same work.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Text, any_, bindparam
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
