"""``retain db``: schema migrations."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from retain.cli.ui import DbOption, console, database_problem, fail
from retain.config import database_url
from retain.store.db import current_revision, head_revision, make_engine, upgrade

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(db: DbOption = None) -> None:
    """Apply pending migrations (other commands also do this on first use)."""
    engine = make_engine(database_url(db))
    try:
        before = current_revision(engine)
        upgrade(engine)
    except SQLAlchemyError as exc:
        fail(f"cannot migrate {engine.url.render_as_string(hide_password=True)}: {database_problem(exc)}", 1)
    after = head_revision()
    if before == after:
        console.print(f"Schema already at revision {after}.")
    else:
        console.print(f"Schema upgraded from {before or 'empty'} to {after}.")


@app.command("current")
def current_command(db: DbOption = None) -> None:
    """Show the schema revision of the database."""
    engine = make_engine(database_url(db))
    console.print(f"{current_revision(engine) or 'empty'} (newest: {head_revision()})")
