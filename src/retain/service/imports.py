"""Import order history: all of a file or, when asked, all of its valid rows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import polars as pl

from retain.domain.imports import ImportCounts, ImportResult, OrderChange, RowError
from retain.service.batch import OrderBatch, ParsedFile
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


RejectSink = Callable[[pl.DataFrame], None]


def _handle_rejects(parsed: ParsedFile[Any], skip_invalid: bool, write_rejects: RejectSink | None) -> None:
    if not parsed.has_rejects:
        return
    if not skip_invalid:
        total = parsed.rejects.filter(pl.col("at_fault")).height
        raise InvalidRowsError(row_errors(parsed.rejects), total)
    if write_rejects is not None:
        write_rejects(parsed.rejects)


def _write(
    parsed: ParsedFile[Any],
    uow: UnitOfWork,
    skip_invalid: bool,
    write_rejects: RejectSink | None,
    write: Callable[[UnitOfWork], ImportCounts],
) -> ImportCounts:
    """Refuse or set aside bad rows, then write the rest in one transaction."""
    _handle_rejects(parsed, skip_invalid, write_rejects)
    with uow:
        counts = write(uow)
        uow.commit()
    return counts


def _result(parsed: ParsedFile[Any], counts: ImportCounts) -> ImportResult:
    return ImportResult(
        format=parsed.format, rows_read=parsed.rows, rows_rejected=parsed.rejects.height, counts=counts
    )


def import_customers(
    parsed: ParsedFile[pl.DataFrame],
    uow: UnitOfWork,
    as_of: datetime,
    *,
    skip_invalid: bool = False,
    write_rejects: RejectSink | None = None,
    progress: Progress = no_progress,
) -> ImportResult:
    """Create or enrich customers from a customer file; its consent is taken as of ``as_of``."""
    counts = _write(
        parsed,
        uow,
        skip_invalid,
        write_rejects,
        lambda u: u.directory.write_profiles(parsed.batch, as_of, progress),
    )
    return _result(parsed, counts)


def import_products(
    parsed: ParsedFile[pl.DataFrame],
    uow: UnitOfWork,
    *,
    skip_invalid: bool = False,
    write_rejects: RejectSink | None = None,
    progress: Progress = no_progress,
) -> ImportResult:
    """Create or update the catalog (titles, categories, prices) from a product file."""
    counts = _write(
        parsed, uow, skip_invalid, write_rejects, lambda u: u.directory.write_products(parsed.batch, progress)
    )
    return _result(parsed, counts)


def change_events(changes: list[OrderChange], at: datetime) -> list[dict[str, Any]]:
    """``order_paid`` and ``refunded`` events for the changes an import found. A paid
    order's event is keyed by the order, as the webhook's is, so it is recorded once
    however the news arrives; a refund by the order and the amount now refunded."""
    rows: list[dict[str, Any]] = []
    for change in changes:
        if change.customer_id is None:
            continue
        if change.newly_paid:
            rows.append(_event(change, "order_paid", str(change.order_id), at))
        if change.more_refunded:
            rows.append(_event(change, "refunded", f"{change.order_id}:import:{change.refunded_now}", at))
    return rows


def _event(change: OrderChange, event: str, ref: str, at: datetime) -> dict[str, Any]:
    data = {"order_id": change.order_id}
    return {"customer_id": change.customer_id, "event": event, "at": at, "ref": ref, "data": data}


def import_orders(
    parsed: ParsedFile[OrderBatch],
    uow: UnitOfWork,
    *,
    skip_invalid: bool = False,
    write_rejects: RejectSink | None = None,
    progress: Progress = no_progress,
    now: datetime | None = None,
) -> ImportResult:
    """Write a parsed file's orders in one transaction: all of them, or none on failure.

    A known order found paid, or refunded beyond what was stored, becomes an ``order_paid``
    or ``refunded`` event (at ``now``) for the flows that start on them, as a store's
    webhook would.
    """

    def write(u: UnitOfWork) -> ImportCounts:
        counts = u.orders.write_batch(parsed.batch, progress)
        counts.codes_redeemed = u.codes.redeem()
        u.events.add(change_events(counts.changes, now or datetime.now(UTC)))
        return counts

    counts = _write(parsed, uow, skip_invalid, write_rejects, write)
    placed = parsed.batch.orders["placed_at"]
    return ImportResult(
        format=parsed.format,
        rows_read=parsed.rows,
        rows_rejected=parsed.rejects.height,
        counts=counts,
        first_order_at=placed.min() if placed.len() else None,  # type: ignore[arg-type]
        last_order_at=placed.max() if placed.len() else None,  # type: ignore[arg-type]
    )
