"""The latest customer scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert

from retain.store.tables import customer_scores


class SqlScores:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def replace(self, rows: Sequence[dict[str, Any]]) -> None:
        """Swap every stored score for ``rows`` (in the caller's transaction)."""
        self.connection.execute(delete(customer_scores))
        for start in range(0, len(rows), 20_000):
            self.connection.execute(insert(customer_scores), list(rows[start : start + 20_000]))
