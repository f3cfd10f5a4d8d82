"""Customer events, the stream flows read: each (event, ref) is recorded once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from retain.store.sets import among, chunks
from retain.store.tables import customer_events


def add_events(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the events of ``rows`` not already recorded; returns how many were new."""
    if not rows:
        return 0
    postgres = connection.dialect.name == "postgresql"
    known: set[tuple[str, str]] = set()
    for event in sorted({r["event"] for r in rows}):
        refs = sorted({r["ref"] for r in rows if r["event"] == event})
        for part in chunks(refs):  # by event and ref: the unique index answers
            query = select(customer_events.c.ref).where(
                customer_events.c.event == event, among(customer_events.c.ref, part, postgres)
            )
            known.update((event, ref) for ref in connection.scalars(query))
    fresh = [r for r in rows if (r["event"], r["ref"]) not in known]
    for part in chunks(fresh):
        connection.execute(insert(customer_events), list(part))
    return len(fresh)


class SqlEvents:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, rows: Sequence[dict[str, Any]]) -> int:
        return add_events(self.connection, rows)
