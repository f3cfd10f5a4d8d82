"""The SQLAlchemy unit of work: one connection, one transaction, all or nothing."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, RootTransaction

from retain.store.bulk import BulkOrderWriter
from retain.store.db import WRITE_LOCK


class SqlUnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __enter__(self) -> Self:
        self.connection: Connection = self.engine.connect().execution_options(**{WRITE_LOCK: True})
        self._transaction: RootTransaction = self.connection.begin()
        self.orders = BulkOrderWriter(self.connection)
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
        self.connection.close()

    def commit(self) -> None:
        self._transaction.commit()

    def rollback(self) -> None:
        self._transaction.rollback()
