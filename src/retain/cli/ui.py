"""Console output shared by the commands: errors, progress bars, option types."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from retain.bootstrap import App, bootstrap
from retain.domain.metrics import PeriodError
from retain.service.ports import Progress as ProgressSink

console = Console()
errors = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL or SQLite file path. Default: $RETAIN_DATABASE_URL, else sqlite:///retain.db.",
        show_default=False,
    ),
]

EXIT_BAD_INPUT = 2


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One line on stderr, no traceback."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def database_problem(exc: Exception) -> str:
    """A one-line account of a database failure, without the SQL."""
    cause = getattr(exc, "orig", None) or exc
    return f"{exc.__class__.__name__}: {str(cause).splitlines()[0] if str(cause) else ''}"


T = TypeVar("T")


def on_store(
    db: str | None, work: Callable[[App], T], refuse: tuple[type[Exception], ...] = (PeriodError,)
) -> T:
    """Run ``work`` on the store, closing it after; a refusal becomes one line and exit status 2."""
    app = bootstrap(db)
    try:
        return work(app)
    except refuse as exc:
        fail(str(exc))
    finally:
        app.close()


@contextmanager
def progress_bars() -> Iterator[tuple[ProgressSink, Progress]]:
    """A progress sink drawing one bar per stage; quiet when output is not a terminal."""
    bars = Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<18}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    tasks: dict[str, TaskID] = {}

    def sink(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=total or None)
        bars.update(tasks[stage], completed=done, total=total or None)

    with bars:
        yield sink, bars
