"""The feedback page: NPS with its promoters, passives and detractors and its trend, what
customers wrote by category and sentiment, and the action plan, whose items an agent
resolves here and every customer who raised one is told, as ``retain feedback resolve``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retain import listening
from retain.domain.feedback import CATEGORIES, FeedbackError
from retain.domain.messages import MessageError
from retain.domain.personalization import BrandError
from retain.domain.surveys import NetPromoter
from retain.mailer import load_brand
from retain.messaging.templating import TemplateError
from retain.service import feedback
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard.forms import OUTBOX, back, notice, read_form

LATEST = 15
RESOLVED_SHOWN = 10
MOODS = ("negative", "neutral", "positive")
REFUSED = (FeedbackError, BrandError, TemplateError, MessageError)
NOTICES = {"resolved": "The item is resolved, and the customers who raised it were told what was done."}


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, who: Principal, status: int = 200, **extra: Any) -> HTMLResponse:
        now = ws.app.now()
        done = feedback.report(ws.app.unit_of_work)
        with ws.app.unit_of_work() as uow:
            latest = uow.feedback.listed(limit=LATEST)
        context = {
            "report": done, "nps": _split(done.nps), "trend": trend(done.nps_by_month),
            "categories": categories(done.categories),
            "open_items": feedback.action_plan(ws.app.unit_of_work, now, "open"),
            "resolved_items": feedback.action_plan(ws.app.unit_of_work, now, "resolved")[:RESOLVED_SHOWN],
            "latest": latest, "can_support": who.can("support"), "notice": notice(request, NOTICES),
            "error": None, "failed_item": None, **extra,
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "feedback.html", context, status_code=status)

    @router.get("/feedback", response_class=HTMLResponse)
    def listening_page(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> HTMLResponse:
        return page(request, who)

    @router.post("/feedback/actions/{item_id}/resolve", response_class=HTMLResponse)
    async def resolve(
        request: Request, item_id: int, who: Principal = Depends(ws.auth.need("support"))
    ) -> Response:
        note = (await read_form(request)).get("note")
        try:
            with ws.app.unit_of_work() as uow:
                item = uow.feedback.item(item_id)
                waiting = uow.feedback.to_notify(item_id) if item is not None else []
            if item is not None and item["status"] == "open" and waiting:
                load_brand(ws.app)  # no brand to send under: refused before the item is touched
            listening.resolve_item(ws.app, item_id, who.name, note, OUTBOX, ws.settings)
        except REFUSED as exc:
            return page(request, who, 422, error=str(exc), failed_item=item_id, note=note)
        return back("/feedback", "resolved")

    return router


def _split(found: NetPromoter) -> dict[str, Any]:
    """Promoters, passives and detractors as shares of the answers, for a stacked bar."""
    total = found.responses or 1
    counts = {"promoters": found.promoters, "passives": found.passives, "detractors": found.detractors}
    parts = [(name, count, round(100 * count / total, 1)) for name, count in counts.items()]
    return {"score": found.score, "responses": found.responses, "parts": parts}


def trend(months: dict[str, NetPromoter], last: int = 12) -> list[dict[str, Any]]:
    """The last months' NPS as columns rising from, or falling below, the middle line."""
    shown = list(months.items())[-last:]
    return [
        {"month": month, "score": found.score, "responses": found.responses,
         "height": round(abs(found.score or 0) / 2, 1), "below": (found.score or 0) < 0}
        for month, found in shown
    ]  # fmt: skip


def categories(found: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Each category's feedback by sentiment, the busiest first, with bars against the busiest."""
    order = {name: index for index, name in enumerate(CATEGORIES)}
    totals = {name: sum(counts.get(mood, 0) for mood in MOODS) for name, counts in found.items()}
    names = sorted(found, key=lambda name: (-totals[name], order.get(name, len(order))))
    top = max(totals.values(), default=0) or 1
    rows = []
    for name in names:
        counts, total = found[name], totals[name]
        parts = [
            (mood, counts.get(mood, 0), round(100 * counts.get(mood, 0) / (total or 1), 1)) for mood in MOODS
        ]
        rows.append(
            {
                "name": name, "total": total, "parts": parts, "width": round(100 * total / top, 1),
                "competitor": counts.get("competitor", 0), "leaving": counts.get("leaving", 0),
            }
        )  # fmt: skip
    return rows
