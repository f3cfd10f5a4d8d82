"""Top-level command groups."""

from __future__ import annotations

import typer

from retain import __version__
from retain.cli import (
    api,
    codes,
    cohorts,
    customers,
    database,
    demo,
    feedback,
    flows,
    imports,
    loyalty,
    messages,
    metrics,
    models,
    predict,
    recommend,
    segments,
    summary,
    team,
    tickets,
    users,
)  # fmt: skip

app = typer.Typer(
    name="retain",
    help="Retain: a self-hosted customer-retention engine for online stores.\n\n"
    "Import your order history, then read the summary or serve the dashboard. "
    "Data lives in $RETAIN_DATABASE_URL (default: retain.db in this directory); "
    "every command also takes --db.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(imports.app, name="import")
app.add_typer(database.app, name="db")
app.command("summary")(summary.summary)
app.command("metrics", help=metrics.HELP, rich_help_panel=None)(metrics.metrics)
app.command("cohorts")(cohorts.cohorts)
app.add_typer(segments.app, name="segments")
app.command("fit")(models.fit)
app.command("predict")(predict.predict)
app.add_typer(models.report_app, name="models")
app.add_typer(codes.app, name="codes")
app.add_typer(messages.app, name="messages")
app.add_typer(flows.app, name="flows")
app.add_typer(feedback.app, name="feedback")
app.add_typer(tickets.app, name="tickets")
app.add_typer(team.app, name="team")
app.add_typer(customers.app, name="customer")
app.add_typer(loyalty.app, name="loyalty")
app.add_typer(users.users_app, name="users")
app.add_typer(users.keys_app, name="keys")
app.command("worker")(flows.worker)
app.command("recommend")(recommend.recommend)
app.command("demo")(demo.demo)
app.command("serve")(demo.serve)
app.add_typer(api.app, name="api")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"retain {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """Retain command line."""


def main() -> None:
    app()
