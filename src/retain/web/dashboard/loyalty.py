"""The loyalty page: the program in figures (members by tier, the points outstanding and what
they are worth, redemptions), its rewards, the latest points moves, and a correction of a
customer's points by hand, as ``retain loyalty report``, ``rewards`` and ``adjust`` do."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retain import listening, membership
from retain.domain.discounts import grouped
from retain.domain.feedback import FeedbackError
from retain.domain.loyalty import LoyaltyError
from retain.domain.money import format_money
from retain.service import loyalty
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard.forms import back, notice, read_form

RECENT = 25
MAX_ADJUST = 1_000_000
NOTICES = {"adjusted": "The points were adjusted; the customer sees the reason in their history."}


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, who: Principal, status: int = 200, **extra: Any) -> HTMLResponse:
        rules = membership.load_program(ws.app)
        done = loyalty.report(rules, ws.app.unit_of_work)
        with ws.app.unit_of_work() as uow:
            recent = uow.loyalty.recent(RECENT)
            kinds = uow.loyalty.entry_counts()
        money = rules.currency
        rewards = [
            {"reward": r, "gives": r.gives(money),
             "minimum": format_money(r.minimum_order, money) if r.minimum_order else "—"}
            for r in rules.rewards
        ]  # fmt: skip
        context = {
            "report": done, "rules": rules, "rewards": rewards, "recent": recent,
            "redemptions": kinds.get("redeem", 0),
            "worth": format_money(rules.worth(done.balance), money),
            "pending_worth": format_money(rules.worth(done.pending), money),
            "top_tier": max(done.tiers.values(), default=0) or 1, "grouped": grouped,
            "can_market": who.can("marketing"), "notice": notice(request, NOTICES), "error": None, "form": {},
            **extra,
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "loyalty.html", context, status_code=status)

    @router.get("/loyalty", response_class=HTMLResponse)
    def program(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> HTMLResponse:
        return page(request, who)

    @router.post("/loyalty/adjust", response_class=HTMLResponse)
    async def adjust(request: Request, who: Principal = Depends(ws.auth.need("marketing"))) -> Response:
        form = await read_form(request)
        points = form.number("points")
        try:
            if points is None or not -MAX_ADJUST <= points <= MAX_ADJUST:
                raise LoyaltyError(
                    f"give the points as a whole number between -{MAX_ADJUST:,} and {MAX_ADJUST:,}"
                )
            customer = listening.customer_id(ws.app, form.get("customer"))
            rules = membership.load_program(ws.app)
            loyalty.adjust(
                rules, ws.app.unit_of_work, customer, points, form.get("reason"), ws.app.now(), who.name
            )
        except (LoyaltyError, FeedbackError) as exc:
            return page(request, who, 422, error=str(exc), form=form.values())
        return back("/loyalty", "adjusted")

    return router
