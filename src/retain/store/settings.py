"""Store-wide settings kept in the database, each a JSON value under a name."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from retain.store.tables import settings


class SqlSettings:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def get(self, key: str) -> Any:
        return self.connection.scalar(select(settings.c.value).where(settings.c.key == key))

    def prefixed(self, prefix: str) -> dict[str, Any]:
        """Every setting whose name starts with ``prefix``."""
        query = select(settings.c.key, settings.c.value).where(
            settings.c.key.startswith(prefix, autoescape=True)
        )
        return {row.key: row.value for row in self.connection.execute(query.order_by(settings.c.key))}

    def put(self, key: str, value: Any, now: datetime) -> None:
        done = self.connection.execute(
            update(settings).where(settings.c.key == key).values(value=value, updated_at=now)
        )
        if done.rowcount == 0:
            self.connection.execute(insert(settings).values(key=key, value=value, updated_at=now))

    def signing_key(self, now: datetime) -> bytes:
        """The key that signs links in messages, made on first use and kept, so links in
        e-mails already sent keep working after a restart."""
        stored = self.get("signing_key")
        if not isinstance(stored, str):
            stored = secrets.token_hex(32)
            self.put("signing_key", stored, now)
        return bytes.fromhex(stored)
