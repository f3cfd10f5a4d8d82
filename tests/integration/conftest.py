"""A small real store for the command-line tests, and a way to run a command on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from retain.bootstrap import bootstrap
from retain.cli import app as cli_app
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from tests.conftest import DATA


@pytest.fixture
def shop(sqlite_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """The Shopify sample orders in a SQLite store; mail goes to files, links are signed
    with a fixed key, and the working directory is the test's own."""
    monkeypatch.delenv("RETAIN_SMTP_URL", raising=False)
    monkeypatch.setenv("RETAIN_SECRET_KEY", "a-secret-key-long-enough-to-sign")
    monkeypatch.chdir(tmp_path)
    app = bootstrap(sqlite_url)
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    app.close()
    return sqlite_url


def run(cli: CliRunner, db: str, *args: str) -> tuple[int, str]:
    """Exit code and output of ``retain ARGS --db DB``."""
    result = cli.invoke(cli_app, [*args, "--db", db])
    return result.exit_code, result.output
