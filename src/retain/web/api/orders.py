"""Orders: read them, and send them in one at a time.

An order sent to ``POST /orders`` goes through the same validation and writing as an
imported file, so the same order twice is one order, a changed one is updated, and a
single-use code it carries is redeemed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from retain.domain.money import CURRENCY_EXPONENTS, to_decimal
from retain.ingest.build import build_batch
from retain.ingest.canonical import FIELDS, ORDER_ROW, ParseSpec
from retain.ingest.rejects import split
from retain.ingest.table import RECORD
from retain.ingest.validate import REASON, validate
from retain.service.batch import ParsedFile
from retain.service.imports import import_orders
from retain.store import api_queries
from retain.web.api.common import (
    MAX_ID,
    ApiError,
    Cursor,
    CustomerFilter,
    Instant,
    Int,
    Limit,
    Page,
    Text,
    decode_cursor,
    errors,
    not_found,
    page_of,
)
from retain.web.context import Workspace

MAX_AMOUNT = 10**15  # minor units: far above any real order, far below what the columns hold
Amount = Annotated[Int, Field(ge=0, le=MAX_AMOUNT)]
ISO_TIME = "%Y-%m-%dT%H:%M:%S%.f%#z"


class OrderLine(BaseModel):
    position: int
    sku: str | None
    title: str
    quantity: int
    unit_price: int
    line_discount: int


class Order(BaseModel):
    id: int
    number: str = Field(description="The store's order number, unique.")
    customer_id: int
    placed_at: datetime
    currency: str
    subtotal: int
    discounts: int
    shipping: int
    tax: int
    total: int
    refunded: int
    financial_status: str
    paid_at: datetime | None
    cancelled_at: datetime | None
    discount_codes: str | None = Field(description="As the store sent them, comma-separated.")
    tags: str | None
    source: str | None
    item_count: int


class OrderDetail(Order):
    lines: list[OrderLine]


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Text | None = Field(None, min_length=1, max_length=255, description="The store's id of the customer.")
    email: Text | None = Field(None, min_length=3, max_length=320)
    name: Text | None = Field(None, max_length=255)
    phone: Text | None = Field(None, max_length=64)
    accepts_marketing: StrictBool | None = None

    @model_validator(mode="after")
    def _named(self) -> CustomerIn:
        if not (self.id or "").strip() and not (self.email or "").strip():
            raise ValueError("name the customer by their id, their e-mail or both")
        return self


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: Text | None = Field(None, min_length=1, max_length=255)
    title: Text | None = Field(None, min_length=1, max_length=512)
    category: Text | None = Field(None, max_length=255)
    quantity: Int = Field(1, ge=1, le=1_000_000)
    unit_price: Amount = 0
    line_discount: Amount = 0

    @model_validator(mode="after")
    def _named(self) -> LineIn:
        if not (self.sku or "").strip() and not (self.title or "").strip():
            raise ValueError("a line needs a sku, a title or both")
        return self


def _currency(code: str) -> str:
    if code not in CURRENCY_EXPONENTS:
        raise ValueError(f"unknown currency code {code!r}")
    return code


class OrderIn(BaseModel):
    """An order as the store sends it. Amounts are minor units of ``currency``; times
    without an offset are UTC. Without ``total`` the lines add up to it."""

    model_config = ConfigDict(extra="forbid")
    number: Text = Field(min_length=1, max_length=255, description="The store's order number.")
    customer: CustomerIn
    placed_at: Instant
    currency: Annotated[str, AfterValidator(_currency)] = Field(pattern=r"^[A-Z]{3}$")
    total: Amount | None = None
    subtotal: Amount | None = None
    discounts: Amount = 0
    shipping: Amount = 0
    tax: Amount = 0
    refunded: Amount = 0
    financial_status: Text | None = Field(None, max_length=32, description="paid, pending, refunded...")
    paid_at: Instant | None = None
    cancelled_at: Instant | None = None
    discount_codes: list[Annotated[Text, Field(min_length=1, max_length=32)]] = Field([], max_length=20)
    tags: list[Annotated[Text, Field(max_length=64)]] = Field([], max_length=50)
    source: Text | None = Field(None, max_length=64)
    lines: list[LineIn] = Field([], max_length=1000)

    @model_validator(mode="after")
    def _priced(self) -> OrderIn:
        if self.total is None and not self.lines:
            raise ValueError("give the order's total, its lines or both")
        return self


class OrderResult(BaseModel):
    order: OrderDetail
    created: bool = Field(description="False when the order was known: it was updated or unchanged.")


def order_routes(ws: Workspace) -> APIRouter:
    router = APIRouter()
    read, ingest = Depends(ws.auth.need("read")), Depends(ws.auth.need("ingest"))

    @router.get(
        "/orders", response_model=Page[Order], responses=errors(), dependencies=[read], tags=["orders"]
    )
    def list_orders(
        request: Request,
        customer_id: CustomerFilter = None,
        since: Annotated[Instant | None, Query(description="Placed at or after.")] = None,
        until: Annotated[Instant | None, Query(description="Placed before.")] = None,
        status: Annotated[
            Text | None,
            Query(max_length=32, description="A payment status (paid, refunded...) or cancelled."),
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Orders in the order they were recorded."""
        with ws.app.engine.connect() as connection:
            found = api_queries.orders_page(
                connection, customer_id=customer_id, since=since, until=until, status=status,
                after=decode_cursor(cursor), limit=limit,
            )  # fmt: skip
        return page_of(request, [numbered(row) for row in found.rows], found)

    @router.get(
        "/orders/{order_id}",
        response_model=OrderDetail,
        responses=errors(404),
        dependencies=[read],
        tags=["orders"],
    )
    def get_order(order_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
        """One order with its lines."""
        with ws.app.engine.connect() as connection:
            found = api_queries.order(connection, order_id)
        if found is None:
            raise not_found(f"order {order_id}")
        return numbered(found)

    @router.post(
        "/orders",
        status_code=201,
        response_model=OrderResult,
        dependencies=[ingest],
        tags=["orders"],
        responses=errors(400, 409, 413, known=(OrderResult, "The order was known: updated or unchanged.")),
    )
    async def post_order(body: OrderIn, response: Response) -> dict[str, Any]:
        """Record an order (201), or update the one with its number (200)."""
        created, found = await run_in_threadpool(take_order, ws, body)
        response.status_code = 201 if created else 200
        return {"order": numbered(found), "created": created}

    return router


def numbered(row: dict[str, Any]) -> dict[str, Any]:
    """An order row as the API names it: the store's number is ``number``."""
    return {"number": row["external_id"], **row}


def take_order(ws: Workspace, body: OrderIn) -> tuple[bool, dict[str, Any]]:
    """Validate and write the order as an import of one; (created, the order as stored)."""
    raw = canonical(body)
    checked = validate(raw, ParseSpec(date_format=ISO_TIME, required=frozenset({"placed_at", "currency"})))
    rejects, good = split(checked, "order_key", "order")
    if rejects.height:
        reasons = sorted({str(r) for r in rejects[REASON].to_list() if r})
        raise ApiError(422, "invalid_order", "; ".join(reasons) or "the order is invalid")
    parsed = ParsedFile(format="api", rows=raw.height, batch=build_batch(good), rejects=rejects)
    try:
        result = import_orders(parsed, ws.app.unit_of_work(), now=ws.app.now())
    except IntegrityError:  # the same order written by another request at that moment
        try:
            result = import_orders(parsed, ws.app.unit_of_work(), now=ws.app.now())
        except IntegrityError:
            raise ApiError(409, "conflict", "the order changed while it was written: send it again") from None
    with ws.app.engine.connect() as connection:
        found = api_queries.order(connection, body.number)
    assert found is not None
    return result.counts.orders_created == 1, found


def canonical(body: OrderIn) -> pl.DataFrame:
    """The order as the rows of a file: one per line, the order's own cells on the first."""
    currency = body.currency

    def money(value: int | None) -> str | None:
        return None if value is None else str(to_decimal(value, currency))

    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")

    who = body.customer
    head: dict[str, str | None] = {
        "customer_id": who.id, "email": who.email, "name": who.name, "phone": who.phone,
        "accepts_marketing": None if who.accepts_marketing is None else str(who.accepts_marketing).lower(),
        "placed_at": moment(body.placed_at), "currency": currency, "subtotal": money(body.subtotal),
        "discounts": money(body.discounts), "shipping": money(body.shipping), "tax": money(body.tax),
        "total": money(body.total), "refunded": money(body.refunded),
        "financial_status": body.financial_status,
        "paid_at": moment(body.paid_at), "cancelled_at": moment(body.cancelled_at),
        "discount_codes": ", ".join(body.discount_codes) or None, "tags": ", ".join(body.tags) or None,
        "source": body.source or "api",
    }  # fmt: skip
    lines: list[LineIn | None] = list(body.lines) or [None]
    rows = []
    for index, line in enumerate(lines):
        cells = dict.fromkeys(FIELDS) | (head if index == 0 else {}) | {"order_key": body.number}
        if line is not None:
            cells |= {"sku": line.sku, "title": line.title, "category": line.category,
                      "quantity": str(line.quantity), "unit_price": money(line.unit_price),
                      "line_discount": money(line.line_discount)}  # fmt: skip
        rows.append(cells)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(FIELDS, pl.String))
    return frame.with_row_index(RECORD).with_columns(
        pl.Series(ORDER_ROW, [i == 0 for i in range(len(rows))], dtype=pl.Boolean)
    )
