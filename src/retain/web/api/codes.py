"""Discount codes: the codes issued and whether each was redeemed, and issuing new ones,
for anyone or one each for given customers."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from retain.domain.discounts import DiscountError, DiscountKind, DiscountSpec, grouped
from retain.service.discounts import issue_codes
from retain.store import api_queries
from retain.store.queries import store_currency
from retain.web.api.common import (
    MAX_ID,
    ApiError,
    Cursor,
    CustomerFilter,
    Flag,
    Int,
    Limit,
    Page,
    Text,
    decode_cursor,
    errors,
    page_of,
)
from retain.web.context import Workspace

MAX_CODES = 1_000  # per request; `retain codes create` makes more


class Code(BaseModel):
    id: int
    code: str = Field(description="As people read it, in groups of four; matching ignores dashes and case.")
    kind: str = Field(description="percent, fixed or free_shipping.")
    value: int = Field(description="Percent points, or minor units for fixed; 0 for free shipping.")
    currency: str
    minimum_order: int = Field(description="Minor units; 0 for none.")
    expires_at: datetime | None
    purpose: str
    customer_id: int | None = Field(description="The customer it was issued to; null for anyone.")
    created_at: datetime
    redeemed_at: datetime | None
    order_id: int | None = Field(description="The order that redeemed it.")


class CodesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: DiscountKind
    value: Int = Field(
        0, ge=0, le=10**12, description="Percent (1-100), minor units for fixed, 0 for free shipping."
    )
    count: Int | None = Field(None, ge=1, le=MAX_CODES, description="Codes anyone may use once.")
    customer_ids: list[Annotated[Int, Field(ge=1, le=MAX_ID)]] | None = Field(
        None, min_length=1, max_length=MAX_CODES, description="One code for each of these customers."
    )
    minimum_order: Int = Field(0, ge=0, le=10**12, description="Minor units.")
    valid_days: Int | None = Field(
        None, ge=1, le=3650, description="Days the codes stay valid; none: forever."
    )
    purpose: Text = Field("", max_length=64, description="A label, e.g. winback.")
    currency: str | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="Default: the currency of most orders."
    )

    @model_validator(mode="after")
    def _one_way(self) -> CodesIn:
        if (self.count is None) == (self.customer_ids is None):
            raise ValueError("give either count or customer_ids")
        return self


class Issued(BaseModel):
    codes: list[str]
    kind: str
    value: int
    currency: str
    expires_at: datetime | None


def code_view(row: dict[str, Any]) -> dict[str, Any]:
    return row | {"code": grouped(str(row["code"]))}


def code_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/codes", tags=["codes"])

    @router.get(
        "", response_model=Page[Code], responses=errors(), dependencies=[Depends(ws.auth.need("read"))]
    )
    def list_codes(
        request: Request,
        purpose: Annotated[
            Text | None, Query(max_length=64, description="Only codes with this label.")
        ] = None,
        redeemed: Annotated[
            Flag | None, Query(description="Only redeemed (true) or unredeemed (false) codes.")
        ] = None,
        customer_id: CustomerFilter = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Codes in the order they were issued."""
        with ws.app.engine.connect() as connection:
            found = api_queries.codes_page(
                connection, purpose=purpose, redeemed=redeemed, customer_id=customer_id,
                after=decode_cursor(cursor), limit=limit,
            )  # fmt: skip
        return page_of(request, [code_view(row) for row in found.rows], found)

    @router.post(
        "",
        status_code=201,
        response_model=Issued,
        responses=errors(400, 413),
        dependencies=[Depends(ws.auth.need("marketing"))],
    )
    def issue(body: CodesIn) -> dict[str, Any]:
        """Issue single-use codes: ``count`` for anyone, or one for each of ``customer_ids``.
        All or none: an unknown customer refuses the whole request."""
        now = ws.app.now()
        expires = None
        if body.valid_days is not None:  # to the end of the last valid day
            expires = datetime.combine((now + timedelta(days=body.valid_days)).date(), time.max, tzinfo=UTC)
        currency = body.currency or store_currency(ws.app.engine) or "USD"
        try:
            spec = DiscountSpec(body.kind, body.value, currency, body.minimum_order, expires, body.purpose)
            codes = issue_codes(ws.app.unit_of_work(), spec, now, body.count or 0, body.customer_ids or ())
        except DiscountError as exc:
            raise ApiError(422, "invalid_discount", str(exc)) from None
        return {"codes": codes, "kind": spec.kind, "value": spec.value, "currency": spec.currency,
                "expires_at": spec.expires_at}  # fmt: skip

    return router
