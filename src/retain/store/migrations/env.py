"""Alembic environment: runs on the engine handed over by ``retain.store.db``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from retain.store.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///retain.db")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
