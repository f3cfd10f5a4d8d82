"""``retain api``: the JSON API's own document, for developers and for the copy the
repository keeps (docs/openapi.json)."""

from __future__ import annotations

import typer

from retain.bootstrap import App
from retain.config import Settings
from retain.web.api.document import document_text
from retain.web.app import create_app

app = typer.Typer(
    help="The JSON API under /api/v1 (served by `retain serve`): its OpenAPI document.",
    no_args_is_help=True,
)


@app.command()
def openapi() -> None:
    """Print the API's OpenAPI 3.1 document as JSON, the same one served at
    /api/v1/openapi.json. `retain api openapi > docs/openapi.json` refreshes the
    repository's copy."""
    # The document describes routes only: an in-memory store is never opened.
    typer.echo(document_text(create_app(App("sqlite://"), Settings())), nl=False)
