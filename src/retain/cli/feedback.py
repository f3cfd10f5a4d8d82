"""``retain feedback``: what customers tell the store, read and routed."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from retain.cli.ui import console, fail
from retain.domain.feedback import CATEGORIES

app = typer.Typer(
    help="Feedback: classify what customers write (category, sentiment, a competitor named, an "
    "intention to leave) and see how well the shipped classifier does.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command()
def classify(
    texts: Annotated[
        list[str], typer.Argument(help="One or more texts, each in quotes.", show_default=False)
    ],
    as_json: JsonOption = False,
) -> None:
    """Classify each TEXT: category (the team it goes to), sentiment, whether it names a
    competitor and whether the customer says they are leaving."""
    from retain.feedback.classifier import shipped  # scikit-learn loads only when needed

    if not any(text.strip() for text in texts):
        fail("give at least one text that is not empty", 1)
    found = shipped().classify(texts)
    if as_json:
        rows = [
            {"text": text, **asdict(triage), "team": triage.team}
            for text, triage in zip(texts, found, strict=True)
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title="Feedback", show_lines=True)
    for column in ("text", "category", "team", "sentiment", "competitor", "leaving"):
        table.add_column(column, overflow="fold")
    for text, triage in zip(texts, found, strict=True):
        table.add_row(
            text, triage.category, triage.team, triage.sentiment,
            "yes" if triage.mentions_competitor else "no", "yes" if triage.intends_to_leave else "no",
        )  # fmt: skip
    console.print(table)


@app.command()
def model(as_json: JsonOption = False) -> None:
    """How the shipped classifier does on its held-out examples: accuracy of each answer and
    the category confusion matrix."""
    from retain.feedback.classifier import evaluate, read_examples, shipped

    result = evaluate(shipped(), read_examples("test"))
    if as_json:
        typer.echo(json.dumps(asdict(result) | {"categories": list(CATEGORIES)}))
        return
    figures = Table(title=f"Held-out accuracy ({result.examples:,} examples never trained on)")
    figures.add_column("answer")
    figures.add_column("accuracy", justify="right")
    for name in ("category", "sentiment", "mentions_competitor", "intends_to_leave"):
        figures.add_row(name, f"{getattr(result, name):.1%}")
    console.print(figures)
    matrix = Table(title="Categories: true (rows) by predicted (columns)")
    matrix.add_column("")
    for name in CATEGORIES:
        matrix.add_column(name.replace("_", " "), justify="right")
    for name, row in zip(CATEGORIES, result.confusion, strict=True):
        matrix.add_row(name.replace("_", " "), *(f"{n:,}" for n in row))
    console.print(matrix)
