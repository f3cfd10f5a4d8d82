"""The customers pages: the searchable list, and one customer's 360 view (profile, consent,
predicted value and churn with its reason, and one timeline of orders, messages, points,
what they said and their tickets)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from retain.domain.churn_reason import churn_reason
from retain.domain.money import format_money
from retain.store.customer_view import (
    messages_with_events,
    order_facts,
    profile,
    recent_orders,
    score,
    search,
)
from retain.web.auth import Principal
from retain.web.context import Workspace

PAGE = 50
HISTORY = 100  # entries of each kind on the timeline
EVENT_WORDS = {"open": "Opened", "click": "Clicked a link in", "unsubscribe": "Unsubscribed from",
               "bounce": "Bounced:", "complaint": "Marked as spam:"}  # fmt: skip


def _money(minor: int | None, currency: str | None) -> str | None:
    return None if minor is None or currency is None else format_money(int(minor), currency)


def _orders(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for o in found:
        status = "cancelled" if o["cancelled_at"] else o["financial_status"]
        if o["refunded"] and not o["cancelled_at"]:
            status += f", {format_money(o['refunded'], o['currency'])} refunded"
        entries.append({"at": o["placed_at"], "kind": "order", "title": f"Order {o['number']}",
                        "detail": f"{format_money(o['total'], o['currency'])} · {status}"})  # fmt: skip
    return entries


def _messages(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for m in found:
        via = f" (flow {m['flow']})" if m["flow"] else ""
        entries.append({"at": m["created_at"], "kind": "message", "title": f"Message {m['template']}",
                        "detail": f"{m['channel']} · {m['status'].replace('_', ' ')}{via}"})  # fmt: skip
        for event in m["events"]:
            words = EVENT_WORDS.get(event["kind"], event["kind"])
            entries.append({"at": event["at"], "kind": "message", "title": f"{words} {m['template']}",
                            "detail": ""})  # fmt: skip
    return entries


def _points(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for p in found:
        moved = p["points"] or p["pending"]
        bucket = "" if p["points"] else " pending"
        entries.append({"at": p["at"], "kind": "points", "title": f"{moved:+,} points{bucket}",
                        "detail": f"{p['kind']} · {p['reason']}".rstrip(" ·")})  # fmt: skip
    return entries


def _said(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for f in found:
        score = f"{f['survey']} {f['score']}: " if f["score"] is not None else ""
        title = {"survey": "Survey answer", "review": "Review", "complaint": "Complaint"}.get(
            f["source"], "Feedback"
        )
        entries.append({"at": f["created_at"], "kind": "feedback", "title": f"{title} ({f['category']})",
                        "detail": f"{score}{f['text']}"})  # fmt: skip
    return entries


def _tickets(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for t in found:
        entries.append({"at": t["created_at"], "kind": "ticket", "title": f"Ticket #{t['id']} opened",
                        "detail": f"{t['subject']} · {t['priority']} · {t['status']}"})  # fmt: skip
        if t["resolved_at"]:
            entries.append({"at": t["resolved_at"], "kind": "ticket", "title": f"Ticket #{t['id']} resolved",
                            "detail": t["resolution_note"] or ""})  # fmt: skip
    return entries


def _prediction(found: dict[str, Any] | None, facts: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    if found is None:
        return None
    last = facts["last_at"]
    reason = churn_reason(
        churn_probability=found["churn_probability"], p_alive=found["p_alive"], model=found["model"],
        horizon_days=found["horizon_days"], orders=facts["orders"],
        days_since_last=None if last is None else (now - last).days,
        usual_gap=found["average_days_between_orders"], expected_next_order=found["expected_next_order"],
        today=now.date(),
    )  # fmt: skip
    currency = found["currency"]
    return found | {
        "reason": reason, "predicted_clv_text": _money(found["predicted_clv"], currency),
        "historic_clv_text": _money(found["historic_clv"], currency),
        "total_clv_text": _money(found["total_clv"], currency),
        "aov_text": _money(found["average_order_value"], currency),
    }  # fmt: skip


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/customers", response_class=HTMLResponse)
    def customers(
        request: Request, q: str = "", page: int = 1, who: Principal = Depends(ws.auth.need("read"))
    ) -> HTMLResponse:
        page, q = max(page, 1), q[:200]
        with ws.app.unit_of_work() as uow:
            people = search(uow.connection, q, (page - 1) * PAGE, PAGE + 1)
        for p in people:
            p["clv_text"] = _money(p["predicted_clv"], p["currency"])
        context = {"people": people[:PAGE], "more": len(people) > PAGE, "page": page, "q": q}
        return ws.templates.TemplateResponse(request, "customers.html", context)

    @router.get("/customers/{customer_id}", response_class=HTMLResponse)
    def customer(
        request: Request, customer_id: int, who: Principal = Depends(ws.auth.need("read"))
    ) -> HTMLResponse:
        now = ws.app.now()
        with ws.app.unit_of_work() as uow:
            found = profile(uow.connection, customer_id)
            if found is None:
                missing = {"what": "customer", "name": f"#{customer_id}", "back": "/customers"}
                return ws.templates.TemplateResponse(
                    request, "insight_missing.html", missing, status_code=404
                )
            facts = order_facts(uow.connection, customer_id)
            predicted = _prediction(score(uow.connection, customer_id), facts, now)
            account = uow.loyalty.account(customer_id)
            timeline = [
                *_orders(recent_orders(uow.connection, customer_id, HISTORY)),
                *_messages(messages_with_events(uow.connection, customer_id, HISTORY)),
                *_points(uow.loyalty.history(customer_id, HISTORY)),
                *_said(uow.feedback.listed(customer_id=customer_id, limit=HISTORY)),
                *_tickets(uow.feedback.tickets(customer_id=customer_id, limit=HISTORY)),
            ]
        timeline.sort(key=lambda e: e["at"], reverse=True)
        context: dict[str, Any] = {
            "person": found, "title": found["name"] or found["email"] or f"Customer {customer_id}",
            "facts": facts, "revenue": _money(facts["revenue"], facts["currency"]),
            "predicted": predicted, "account": account, "timeline": timeline,
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "customer.html", context)

    return router
