"""A customer's loyalty points for the store's staff: balance, history and the rewards they
can afford; spending points on a reward and correcting a balance by hand.

These live under /customers/{id}/loyalty. The customer-facing endpoints, where a signed token
names the member, are /api/v1/loyalty/{token} (``retain.web.loyalty``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from retain import membership
from retain.domain.discounts import DiscountError, grouped
from retain.domain.loyalty import InsufficientPoints, LoyaltyError, UnknownToLoyalty
from retain.service import loyalty
from retain.store import api_queries
from retain.web.api.common import (
    ApiError,
    Cursor,
    CustomerId,
    Int,
    Limit,
    Page,
    Text,
    decode_cursor,
    errors,
    not_found,
    page_of,
)
from retain.web.auth import Principal
from retain.web.context import Workspace

T = TypeVar("T")
MAX_POINTS = 10**9


class Balance(BaseModel):
    customer_id: int
    balance: int = Field(description="Approved points, spendable now.")
    pending: int = Field(description="Points waiting out the return window.")
    tier: str | None
    worth: int = Field(description="What the balance is worth, minor units of currency.")
    currency: str
    referral_code: str
    referral_code_expires_at: datetime


class Entry(BaseModel):
    id: int
    at: datetime
    kind: str = Field(description="earn, approve, redeem, reverse, expire, adjust or referral.")
    source: str
    points: int = Field(description="Change to the approved balance.")
    pending: int = Field(description="Change to the pending points.")
    balance_after: int
    pending_after: int
    reason: str
    code: str | None = Field(description="The discount code a redemption issued.")
    order_id: int | None


class Reward(BaseModel):
    key: str
    title: str
    points: int
    kind: str = Field(description="percent, fixed, credit or free_shipping.")
    value: int
    minimum_order: int
    valid_days: int | None
    affordable: bool = Field(description="The balance covers it now.")


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reward: Text = Field(min_length=1, max_length=64, description="The reward's key.")
    request_id: Text | None = Field(None, min_length=1, max_length=64, description="Makes a retry safe.")


class Redeemed(BaseModel):
    reward: str
    code: str = Field(description="The single-use discount code the points bought.")
    points: int = Field(description="Points spent.")
    balance: int = Field(description="The balance after.")


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    points: Int = Field(ge=-MAX_POINTS, le=MAX_POINTS, description="Points to add; negative to take away.")
    reason: Text = Field(
        min_length=1, max_length=500, pattern=r"\S", description="Shown in the customer's history."
    )


class Adjusted(BaseModel):
    points: int
    balance: int
    reason: str


def _refusals(work: Callable[[], T]) -> T:
    try:
        return work()
    except InsufficientPoints as exc:
        raise ApiError(409, "insufficient_points", str(exc)) from None
    except UnknownToLoyalty as exc:
        raise ApiError(404, "not_a_member", str(exc)) from None
    except (LoyaltyError, DiscountError) as exc:
        raise ApiError(422, "refused", str(exc)) from None


def loyalty_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/customers/{customer_id}/loyalty", tags=["loyalty"])
    read, marketing = Depends(ws.auth.need("read")), ws.auth.need("marketing")

    def account(customer_id: int) -> dict[str, Any]:
        with ws.app.unit_of_work() as uow:
            found = uow.loyalty.account(customer_id)
            if found is None and not api_queries.customer_exists(uow.connection, customer_id):
                raise not_found(f"customer {customer_id}")
        if found is None:
            raise ApiError(404, "not_a_member", f"customer {customer_id} is not a loyalty member")
        return found

    def balance_of(customer_id: int) -> dict[str, Any]:
        found = account(customer_id)
        program = _refusals(lambda: membership.load_program(ws.app))
        return found | {"worth": program.worth(found["balance"]), "currency": program.currency,
                        "referral_code": grouped(found["referral_code"])}  # fmt: skip

    @router.get("", response_model=Balance, responses=errors(404), dependencies=[read])
    async def balance(customer_id: CustomerId) -> dict[str, Any]:
        """The member's points, tier, what the balance is worth and their referral code."""
        return await run_in_threadpool(balance_of, customer_id)

    @router.get("/history", response_model=Page[Entry], responses=errors(404), dependencies=[read])
    def history(
        request: Request, customer_id: CustomerId, limit: Limit = 50, cursor: Cursor = None
    ) -> dict[str, Any]:
        """The member's ledger, newest first, with the balance after each entry."""
        after = decode_cursor(cursor)
        account(customer_id)
        with ws.app.engine.connect() as connection:
            found = api_queries.ledger_page(connection, customer_id, after, limit)
        items = [row | {"code": grouped(row["code"]) if row["code"] else None} for row in found.rows]
        return page_of(request, items, found)

    @router.get("/rewards", response_model=list[Reward], responses=errors(404), dependencies=[read])
    async def rewards(customer_id: CustomerId) -> list[dict[str, Any]]:
        """The program's rewards, and which the member's balance covers."""
        points = (await run_in_threadpool(account, customer_id))["balance"]
        program = await run_in_threadpool(_refusals, lambda: membership.load_program(ws.app))
        return [
            {"key": r.key, "title": r.title, "points": r.points, "kind": r.kind, "value": r.value,
             "minimum_order": r.minimum_order, "valid_days": r.valid_days, "affordable": r.points <= points}
            for r in program.rewards
        ]  # fmt: skip

    @router.post(
        "/redeem",
        response_model=Redeemed,
        responses=errors(400, 404, 409, 413),
        dependencies=[Depends(marketing)],
    )
    def redeem(customer_id: CustomerId, body: RedeemIn) -> dict[str, Any]:
        """Spend the member's points on a reward and issue its single-use code; the same
        request_id again returns the first redemption. A short balance is a 409."""

        def work() -> loyalty.Redemption:
            program = membership.load_program(ws.app)
            try:
                program.reward(body.reward)
            except UnknownToLoyalty as exc:
                raise ApiError(422, "unknown_reward", str(exc)) from None
            return loyalty.redeem(
                program, ws.app.unit_of_work, customer_id, body.reward, ws.app.now(), body.request_id
            )

        account(customer_id)
        done = _refusals(work)
        return {
            "reward": done.reward.key,
            "code": grouped(done.code),
            "points": done.points,
            "balance": done.balance,
        }

    @router.post("/adjust", response_model=Adjusted, responses=errors(400, 404, 409, 413))
    def adjust(
        customer_id: CustomerId, body: AdjustIn, who: Principal = Depends(marketing)
    ) -> dict[str, Any]:
        """Correct the customer's points by hand, with a reason; a deduction beyond the
        balance is a 409 and changes nothing. Makes the customer a member if needed."""

        def work() -> Any:
            program = membership.load_program(ws.app)
            return loyalty.adjust(
                program,
                ws.app.unit_of_work,
                customer_id,
                body.points,
                body.reason,
                ws.app.now(),
                actor=who.name,
            )

        with ws.app.engine.connect() as connection:
            if not api_queries.customer_exists(connection, customer_id):
                raise not_found(f"customer {customer_id}")
        entry = _refusals(work)
        return {"points": entry.points, "balance": entry.balance_after, "reason": entry.reason}

    return router
