"""Import order history: all of a file or, when asked, all of its valid rows."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from retain.domain.imports import ImportResult, RowError
from retain.service.batch import ParsedFile
from retain.service.ports import Progress, UnitOfWork, no_progress

MAX_REPORTED_ERRORS = 20


class InvalidRowsError(Exception):
    """The file has bad rows and the caller did not ask to skip them; nothing was written."""

    def __init__(self, errors: list[RowError], total: int) -> None:
        self.errors = errors
        self.total = total
        super().__init__(f"{total} invalid row(s)")


def row_errors(rejects: pl.DataFrame, limit: int = MAX_REPORTED_ERRORS) -> list[RowError]:
    """The first ``limit`` rows at fault (not rows rejected only for sharing their order)."""
    at_fault = rejects.filter(pl.col("at_fault")).head(limit)
    return [RowError(line, reason) for line, reason in at_fault.select("line", "reason").iter_rows()]


def import_orders(
    parsed: ParsedFile,
    uow: UnitOfWork,
    *,
    skip_invalid: bool = False,
    write_rejects: Callable[[pl.DataFrame], None] | None = None,
    progress: Progress = no_progress,
) -> ImportResult:
    """Write a parsed file's orders in one transaction: all of them, or none on failure."""
    if parsed.has_rejects:
        if not skip_invalid:
            total = parsed.rejects.filter(pl.col("at_fault")).height
            raise InvalidRowsError(row_errors(parsed.rejects), total)
        if write_rejects is not None:
            write_rejects(parsed.rejects)
    with uow:
        counts = uow.orders.write_batch(parsed.batch, progress)
        uow.commit()
    placed = parsed.batch.orders["placed_at"]
    return ImportResult(
        format=parsed.format,
        rows_read=parsed.rows,
        rows_rejected=parsed.rejects.height,
        counts=counts,
        first_order_at=placed.min() if placed.len() else None,  # type: ignore[arg-type]
        last_order_at=placed.max() if placed.len() else None,  # type: ignore[arg-type]
    )
