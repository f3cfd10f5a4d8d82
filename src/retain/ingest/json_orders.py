"""Orders and customers that arrive as JSON (webhooks), read through the same validation
and batch building as files, so an order that arrives by webhook is stored exactly as the
same order imported from a file would be: same checks, same rejections, same content hash.

Each format (Shopify's, Retain's own) maps its payload to canonical cells, the strings a
file row would hold; ``read_orders`` and ``read_profiles`` take many at once, because the
validation costs about the same for one order as for a hundred.

Retain's own format, taken by the generic webhook, is documented in docs/webhooks.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from retain.ingest.build import build_batch
from retain.ingest.canonical import FIELDS, ORDER_ROW, ParseSpec
from retain.ingest.directory import CUSTOMER_ALIASES, _check_customers
from retain.ingest.rejects import split
from retain.ingest.table import RECORD
from retain.ingest.validate import REASON, validate
from retain.service.batch import PROFILE_SCHEMA, OrderBatch

Cells = dict[str, str | None]
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"  # what ``stamp`` writes
_ORDER_SCHEMA = dict.fromkeys(FIELDS, pl.String) | {ORDER_ROW: pl.Boolean}
_PROFILE_FIELDS = tuple(CUSTOMER_ALIASES)


class PayloadError(ValueError):
    """The payload cannot be read as what its topic says it is."""


@dataclass(frozen=True)
class JsonOrder:
    """One order as canonical cells: ``order`` holds the order's fields (``order_key``
    always), ``lines`` one dict of line fields per line item."""

    order: Cells
    lines: list[Cells] = field(default_factory=list)

    @property
    def key(self) -> str | None:
        return self.order.get("order_key")


@dataclass(frozen=True)
class JsonProfile:
    """A customer as the cells of a customer file row, and its free attributes."""

    cells: Cells
    attributes: dict[str, str] = field(default_factory=dict)


def load(body: bytes) -> dict[str, Any]:
    """A JSON object, numbers with decimals read exactly (as ``Decimal``), never as floats."""
    try:
        payload = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as error:
        raise PayloadError(f"not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise PayloadError("expected a JSON object")
    return payload


def text(value: object) -> str | None:
    """A cell from a JSON scalar: blank and null are empty; objects are refused."""
    if value is None or isinstance(value, bool):
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | Decimal):
        return str(value)
    raise PayloadError(f"expected a string or a number, found {type(value).__name__}")


def amount(value: object) -> str | None:
    """An amount cell: a decimal string or a JSON number, kept exact."""
    if isinstance(value, bool):
        raise PayloadError("expected an amount, found true or false")
    return text(value)


def stamp(value: object, *, strict: bool = False) -> str | None:
    """An ISO 8601 time with an offset as a UTC cell; no offset means UTC. Text that is no
    time is refused when ``strict``, else passed on for the validation to report."""
    cell = text(value)
    if cell is None:
        return None
    try:
        when = datetime.fromisoformat(cell)
    except ValueError:
        if strict:
            raise PayloadError(f"unreadable time '{cell}'") from None
        return cell
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def day(value: object) -> str | None:
    cell = text(value)
    if cell is None:
        return None
    try:
        return date.fromisoformat(cell[:10]).isoformat()
    except ValueError:
        raise PayloadError(f"unreadable date '{cell}'") from None


def joined(value: object) -> str | None:
    """A list of words (codes, tags) as the comma-separated cell an export holds."""
    if isinstance(value, list):
        words = [w for w in (text(v) for v in value) if w]
        return ", ".join(words) or None
    return text(value)


def mapping(value: object, name: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"'{name}' must be an object")
    return value


def listing(value: object, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"'{name}' must be a list")
    return value


def read_orders(orders: Sequence[JsonOrder], spec: ParseSpec) -> tuple[OrderBatch, list[str | None]]:
    """The batch of the valid orders, and for each order of ``orders`` why it was rejected
    (None when it was not). Order keys must be distinct."""
    rows: list[dict[str, Any]] = []
    owner: list[int] = []
    for index, order in enumerate(orders):
        for position, line in enumerate(order.lines or [{}]):
            cells: dict[str, Any] = dict(order.order) if position == 0 else {"order_key": order.key}
            cells.update(line)
            cells[ORDER_ROW] = position == 0
            rows.append(cells)
            owner.append(index)
    frame = pl.DataFrame(rows, schema=_ORDER_SCHEMA).with_row_index(RECORD)
    rejects, good = split(validate(frame, spec), "order_key", "order")
    reasons: list[str | None] = [None] * len(orders)
    for record, reason, at_fault in rejects.select(RECORD, REASON, "at_fault").iter_rows():
        index = owner[record]
        if at_fault or reasons[index] is None:  # the row at fault says more than its siblings
            reasons[index] = reason
    return (build_batch(good) if good.height else OrderBatch.empty()), reasons


def read_profiles(profiles: Sequence[JsonProfile]) -> tuple[pl.DataFrame, list[str | None]]:
    """Customer profiles as the customer import writes them, checked as a customer file's
    rows are; and for each profile why it was rejected (None when it was not). A customer
    given twice takes the last."""
    extra = sorted({k for p in profiles for k in p.attributes} - set(_PROFILE_FIELDS))
    rows = [
        {f: p.cells.get(f) for f in _PROFILE_FIELDS} | {k: p.attributes.get(k) for k in extra}
        for p in profiles
    ]
    frame = pl.DataFrame(rows, schema=dict.fromkeys((*_PROFILE_FIELDS, *extra), pl.String)).with_row_index(
        RECORD
    )
    sources = {f: f for f in _PROFILE_FIELDS}
    checked = _check_customers(frame, sources, extra, None)
    rejects, good = split(checked, "customer_key", "customer")
    reasons: list[str | None] = [None] * len(profiles)
    for record, reason in rejects.select(RECORD, REASON).iter_rows():
        reasons[record] = reason
    good = good.unique("customer_key", keep="last", maintain_order=True)
    return good.select(list(PROFILE_SCHEMA)).cast(pl.Schema(PROFILE_SCHEMA)), reasons
