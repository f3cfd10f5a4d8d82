"""Webhook deliveries from the store's platform, kept as received."""

from __future__ import annotations

from sqlalchemy import Connection


class SqlWebhooks:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection
