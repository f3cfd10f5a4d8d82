from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from retain.bootstrap import App
from retain.store.db import current_revision, ensure_schema, head_revision
from retain.store.tables import metadata


def test_the_migrated_schema_matches_the_tables(app: App) -> None:
    with app.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), metadata) == []


def test_migrating_twice_is_a_no_op(app: App) -> None:
    assert current_revision(app.engine) == head_revision()
    assert ensure_schema(app.engine) is False


def test_sqlite_runs_in_wal_mode(sqlite_app: App) -> None:
    with sqlite_app.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_an_import_leaves_foreign_keys_enforced_on_pooled_connections(sqlite_app: App) -> None:
    from retain.ingest.reader import read_orders
    from retain.service.imports import import_orders
    from tests.conftest import DATA

    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), sqlite_app.unit_of_work())
    with sqlite_app.engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
