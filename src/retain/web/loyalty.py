"""A member's points as JSON, for the store's own account page: balance, tier, history and
the rewards they can afford, and redeeming one.

The customer is named by a signed ``loyalty`` token (``retain loyalty link`` makes one; the
store's back end hands it to the page), never by an id anyone could change: nobody reads or
spends another member's points. Errors are one object, ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from retain import membership
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.discounts import grouped
from retain.domain.loyalty import InsufficientPoints, LoyaltyError, Program, UnknownToLoyalty, referral_link
from retain.domain.personalization import BrandError
from retain.mailer import load_brand, signer
from retain.messaging.links import BadToken, MessageLinks
from retain.service import loyalty

HISTORY = 50


class RedeemRequest(BaseModel):
    reward: str = Field(min_length=1, max_length=64)
    request_id: str | None = Field(None, min_length=1, max_length=64, description="Makes a retry safe.")


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def loyalty_routes(app: App, settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/loyalty", tags=["loyalty"])
    links: list[MessageLinks] = []

    def member(token: str) -> int | None:
        if not links:  # made on first use: the key may have to be created in the database
            links.append(signer(app, settings))
        try:
            return links[0].read("loyalty", token).customer_id
        except BadToken:
            return None

    def answer(token: str, work: Callable[[int, Program], dict[str, Any]]) -> JSONResponse:
        customer = member(token)
        if customer is None:
            return error(401, "bad_token", "this link is not valid or has expired")
        try:
            return JSONResponse(work(customer, membership.load_program(app)))
        except InsufficientPoints as exc:
            return error(409, "insufficient_points", str(exc))
        except UnknownToLoyalty as exc:
            return error(404, "not_found", str(exc))
        except LoyaltyError as exc:
            return error(400, "refused", str(exc))

    @router.get("/{token}")
    def points(token: str) -> JSONResponse:
        """The member's balance, pending points, tier, history and rewards."""

        def work(customer: int, program: Program) -> dict[str, Any]:
            with app.unit_of_work() as uow:
                account = uow.loyalty.account(customer)
                entries = uow.loyalty.history(customer, HISTORY)
            if account is None:
                raise UnknownToLoyalty(f"customer {customer} is not a loyalty member")
            try:
                shop: str | None = load_brand(app).shop_url
            except BrandError:  # no brand yet: no shop to link to
                shop = None
            balance = account["balance"]
            return {
                "balance": balance, "pending": account["pending"], "tier": account["tier"],
                "worth": program.worth(balance), "currency": program.currency,
                "referral_code": grouped(account["referral_code"]),
                "referral_url": shop and referral_link(shop, grouped(account["referral_code"])),
                "rewards": [
                    {"key": r.key, "title": r.title, "points": r.points, "affordable": r.points <= balance}
                    for r in program.rewards
                ],
                "history": [
                    {"at": e["at"].isoformat(), "kind": e["kind"], "points": e["points"],
                     "pending": e["pending"], "balance_after": e["balance_after"], "reason": e["reason"]}
                    for e in entries
                ],
            }  # fmt: skip

        return answer(token, work)

    @router.post("/{token}/redeem")
    def redeem(token: str, body: RedeemRequest) -> JSONResponse:
        """Spend points on a reward: the points are debited and its single-use code issued."""

        def work(customer: int, program: Program) -> dict[str, Any]:
            done = loyalty.redeem(
                program, app.unit_of_work, customer, body.reward, app.now(), body.request_id
            )
            return {
                "reward": done.reward.key,
                "code": done.code,
                "points": done.points,
                "balance": done.balance,
            }

        return answer(token, work)

    return router
