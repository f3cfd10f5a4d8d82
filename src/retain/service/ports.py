"""The outside world as the use cases see it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

import polars as pl

from retain.domain.discounts import DiscountSpec
from retain.domain.imports import ImportCounts
from retain.domain.messages import DeliveryResult, OutgoingEmail
from retain.service.batch import OrderBatch

# (stage, done, total): called as long work advances, for progress bars.
Progress = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """A progress sink that shows nothing."""


class OrderWriter(Protocol):
    def write_batch(self, batch: OrderBatch, progress: Progress) -> ImportCounts: ...


class DirectoryWriter(Protocol):
    """Customers and products known from their own files, not from orders."""

    def write_profiles(self, profiles: pl.DataFrame, as_of: datetime, progress: Progress) -> ImportCounts: ...

    def write_products(self, products: pl.DataFrame, progress: Progress) -> ImportCounts: ...


class SegmentStore(Protocol):
    def save_rule(self, name: str, rule: dict[str, Any], now: datetime) -> bool: ...

    def rules(self) -> dict[str, dict[str, Any]]: ...

    def keys(self) -> set[str]: ...

    def members(self, key: str) -> set[int]: ...

    def apply(self, key: str, entered: Iterable[int], left: Iterable[int], at: datetime) -> None: ...


class ScoreStore(Protocol):
    def replace(self, rows: Sequence[dict[str, Any]]) -> None: ...


class DiscountCodeStore(Protocol):
    def issue(self, spec: DiscountSpec, owners: Sequence[int | None], now: datetime) -> list[str]: ...

    def redeem(self) -> int: ...

    def listing(self, unredeemed_only: bool = False) -> list[dict[str, object]]: ...


class EventLog(Protocol):
    def add(self, rows: Sequence[dict[str, Any]]) -> int:
        """Record customer events (customer_id, event, at, ref, data), each (event, ref)
        once; returns how many were new."""
        ...


class UnitOfWork(Protocol):
    @property
    def orders(self) -> OrderWriter: ...

    @property
    def events(self) -> EventLog: ...

    @property
    def directory(self) -> DirectoryWriter: ...

    @property
    def segments(self) -> SegmentStore: ...

    @property
    def scores(self) -> ScoreStore: ...

    @property
    def codes(self) -> DiscountCodeStore: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class Courier(Protocol):
    """Delivers batches in the background, one at a time and in order: ``submit`` returns
    at once with the batch's results to come."""

    def submit(self, messages: list[OutgoingEmail]) -> Future[list[DeliveryResult]]: ...


class MailTransport(Protocol):
    """Hands e-mails to whatever delivers them: an SMTP server, or a folder of ``.eml`` files.

    ``send`` returns one result per message, in order, and never raises for one message's
    failure, so a caller always learns which messages went out; closing releases the
    connection a transport keeps open across calls.
    """

    def send(self, messages: Iterable[OutgoingEmail]) -> list[DeliveryResult]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
