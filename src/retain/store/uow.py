"""The SQLAlchemy unit of work: one connection, one transaction, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, RootTransaction

from retain.domain.discounts import DiscountSpec
from retain.store.access import SqlAccess
from retain.store.bulk import BulkOrderWriter
from retain.store.bulk_directory import BulkDirectoryWriter
from retain.store.db import WRITE_LOCK
from retain.store.discounts import SqlDiscountCodes
from retain.store.events import SqlEvents
from retain.store.feedback import SqlFeedback
from retain.store.flow_triggers import SqlTriggers
from retain.store.flows import SqlFlows
from retain.store.loyalty import SqlLoyalty
from retain.store.outreach import SqlOutreach
from retain.store.scores import SqlScores
from retain.store.segments import SqlSegments
from retain.store.settings import SqlSettings
from retain.store.webhooks import SqlWebhooks


class SqlUnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Self:
        self.connection: Connection = self.engine.connect().execution_options(**{WRITE_LOCK: True})
        self._sqlite = self.connection.dialect.name == "sqlite"
        if self._sqlite:
            # Bulk writes build every reference from their own joins and NOT NULL columns
            # refuse a missing parent, so SQLite's per-row parent lookups (15% of an import)
            # are skipped. The pragma only takes effect outside a transaction.
            self.connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        self._transaction: RootTransaction = self.connection.begin()
        self.orders = BulkOrderWriter(self.connection)
        self.events = SqlEvents(self.connection)
        self.directory = BulkDirectoryWriter(self.connection)
        self.segments = SqlSegments(self.connection)
        self.scores = SqlScores(self.connection)
        self.codes = SqlDiscountCodes(self.connection)
        self.outreach = SqlOutreach(self.connection)
        self.settings = SqlSettings(self.connection)
        self.flows = SqlFlows(self.connection)
        self.triggers = SqlTriggers(self.connection)
        self.loyalty = SqlLoyalty(self.connection)
        self.feedback = SqlFeedback(self.connection)
        self.access = SqlAccess(self.connection)
        self.webhooks = SqlWebhooks(self.connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Anything not committed, including work cut short by Ctrl-C, is rolled back.
        if self._transaction.is_active:
            self._transaction.rollback()
        if self._sqlite:  # the connection goes back to the pool: restore the default
            self.connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        self.connection.close()

    def issue_codes(self, spec: DiscountSpec, owners: Sequence[int], now: datetime) -> list[str]:
        return self.codes.issue(spec, list(owners), now)

    def commit(self) -> None:
        self._transaction.commit()

    def rollback(self) -> None:
        self._transaction.rollback()
