"""The one place where real adapters are wired together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from sqlalchemy import Engine

from retain.config import database_url
from retain.store.db import ensure_schema, make_engine
from retain.store.uow import SqlUnitOfWork


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    url: str
    # Every "now" comes from here, so tests and simulations can move time.
    now: Callable[[], datetime] = utc_now

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.url)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)

    def close(self) -> None:
        """Close pooled connections (the engine reconnects if used again)."""
        if "engine" in self.__dict__:
            self.engine.dispose()


def bootstrap(db: str | None = None, *, migrate: bool = True) -> App:
    """An app on ``db`` (or the configured database), its schema brought up to date."""
    app = App(database_url(db))
    if migrate:
        ensure_schema(app.engine)
    return app
