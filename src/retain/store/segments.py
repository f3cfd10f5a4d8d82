"""Segment definitions and memberships in the store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from retain.store.tables import segment_changes, segment_members, segments

CHUNK = 5000


class SqlSegments:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def save_rule(self, name: str, rule: dict[str, Any], now: datetime) -> bool:
        """Create or replace a rule; True when it is new."""
        found = self.connection.execute(select(segments.c.id).where(segments.c.name == name)).first()
        if found is None:
            self.connection.execute(
                insert(segments).values(name=name, rule=rule, created_at=now, updated_at=now)
            )
            return True
        self.connection.execute(
            update(segments).where(segments.c.id == found.id).values(rule=rule, updated_at=now)
        )
        return False

    def rules(self) -> dict[str, dict[str, Any]]:
        return {r.name: r.rule for r in self.connection.execute(select(segments.c.name, segments.c.rule))}

    def keys(self) -> set[str]:
        return set(self.connection.scalars(select(segment_members.c.segment).distinct()))

    def members(self, key: str) -> set[int]:
        query = select(segment_members.c.customer_id).where(segment_members.c.segment == key)
        return set(self.connection.scalars(query))

    def apply(self, key: str, entered: Iterable[int], left: Iterable[int], at: datetime) -> None:
        arrivals, departures = sorted(entered), sorted(left)
        for start in range(0, len(departures), CHUNK):
            part = departures[start : start + CHUNK]
            self.connection.execute(
                delete(segment_members).where(
                    segment_members.c.segment == key, segment_members.c.customer_id.in_(part)
                )
            )
        if arrivals:
            self.connection.execute(
                insert(segment_members),
                [{"segment": key, "customer_id": c, "entered_at": at} for c in arrivals],
            )
        changes = [{"segment": key, "customer_id": c, "change": "entered", "at": at} for c in arrivals]
        changes += [{"segment": key, "customer_id": c, "change": "left", "at": at} for c in departures]
        if changes:
            self.connection.execute(insert(segment_changes), changes)
