"""The inbox: tickets with their SLA clocks, the most urgent first, and one ticket's whole
conversation with everything an agent does to it: assign, set the priority, note, reply to
the customer by e-mail, resolve with a reason, reopen. The same use cases as
``retain tickets``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retain import listening
from retain.domain.feedback import TEAMS
from retain.domain.messages import MessageError
from retain.domain.personalization import BrandError
from retain.domain.tickets import PRIORITIES, RESOLUTIONS, STATUSES, TicketError, clock, span
from retain.messaging.templating import TemplateError
from retain.service import feedback
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard.forms import OUTBOX, Form, back, not_found, notice, read_form

LIMIT = 200
REFUSED = (TicketError, BrandError, TemplateError, MessageError)
NOTICES = {
    "assigned": "Assigned.",
    "priority": "Priority changed.",
    "note": "Note added; the customer does not see it.",
    "reply": "Reply sent; the ticket waits for the customer.",
    "resolved": "Resolved.",
    "reopened": "Reopened.",
}


def sla(ticket: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The clock running now, in words, and whether it ran out."""
    found = clock(ticket, now)
    if found is None:
        return None
    name, due = found
    label = name.replace("_", " ")
    if due > now:
        return {"text": f"{label} due in {span(due - now)}", "overdue": False, "due": due}
    return {"text": f"{label} overdue by {span(now - due)}", "overdue": True, "due": due}


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/inbox", response_class=HTMLResponse)
    def inbox(
        request: Request, assignee: str = "", team: str = "", mine: bool = False,
        who: Principal = Depends(ws.auth.need("read")),
    ) -> HTMLResponse:  # fmt: skip
        wanted = [s for s in request.query_params.getlist("status") if s in STATUSES] or ["open", "pending"]
        chosen = who.name if mine else assignee.strip() or None
        now = ws.app.now()
        with ws.app.unit_of_work() as uow:
            found = uow.feedback.tickets(
                status=wanted, assignee=chosen, team=team.strip() or None, limit=LIMIT
            )
        rows = [{"ticket": t, "sla": sla(t, now)} for t in found]
        context = {
            "rows": rows, "statuses": STATUSES, "wanted": wanted, "assignee": assignee.strip(), "mine": mine,
            "team": team.strip(), "teams": sorted(set(TEAMS.values())), "limit": LIMIT,
            "overdue": sum(1 for row in rows if row["sla"] and row["sla"]["overdue"]),
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "inbox.html", context)

    def page(request: Request, who: Principal, ticket_id: int, status: int = 200, **extra: Any) -> Response:
        now = ws.app.now()
        with ws.app.unit_of_work() as uow:
            ticket = uow.feedback.ticket(ticket_id)
            if ticket is None:
                return not_found(ws.templates, request, f"There is no ticket #{ticket_id}.")
            pieces = uow.feedback.of_ticket(ticket_id)
            for piece in pieces:
                piece["attachments"] = uow.feedback.attachments_of(piece["id"])
            email = (
                uow.feedback.email_of(ticket["customer_id"]) if ticket["customer_id"] is not None else None
            )
            notes = uow.feedback.notes(ticket_id)
            people = sorted({u.name for u in uow.access.users() if u.can("support")})
        said = [{"kind": "customer", "at": p["created_at"], "piece": p} for p in pieces]
        history = sorted(
            said + [{"kind": n["kind"], "at": n["at"], "note": n} for n in notes], key=lambda e: e["at"]
        )
        context = {
            "ticket": ticket, "email": email, "history": history, "sla": sla(ticket, now), "people": people,
            "priorities": PRIORITIES, "resolutions": RESOLUTIONS, "can_support": who.can("support"),
            "notice": notice(request, NOTICES), "error": None, "form": {}, **extra,
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "ticket.html", context, status_code=status)

    @router.get("/inbox/{ticket_id}", response_class=HTMLResponse)
    def ticket_page(
        request: Request, ticket_id: int, who: Principal = Depends(ws.auth.need("read"))
    ) -> Response:
        return page(request, who, ticket_id)

    def change(name: str, done: str, act: Callable[[Form, Principal, int], object]) -> None:
        @router.post(f"/inbox/{{ticket_id}}/{name}", response_class=HTMLResponse, name=f"ticket_{name}")
        async def changed(
            request: Request, ticket_id: int, who: Principal = Depends(ws.auth.need("support"))
        ) -> Response:
            form = await read_form(request)
            with ws.app.unit_of_work() as uow:
                if uow.feedback.ticket(ticket_id) is None:
                    return not_found(ws.templates, request, f"There is no ticket #{ticket_id}.")
            try:
                act(form, who, ticket_id)
            except REFUSED as exc:
                return page(request, who, ticket_id, 422, error=str(exc), form={name: form.values()})
            return back(f"/inbox/{ticket_id}", done)

    app = ws.app  # read at each request: tests and simulations move app.now
    change(
        "assign",
        "assigned",
        lambda f, who, t: feedback.assign(app.unit_of_work, t, f.get("agent"), who.name, app.now()),
    )
    change(
        "priority",
        "priority",
        lambda f, who, t: feedback.set_priority(app.unit_of_work, t, f.get("priority"), who.name, app.now()),
    )
    change(
        "note",
        "note",
        lambda f, who, t: feedback.note(app.unit_of_work, t, who.name, f.get("body"), app.now()),
    )
    change(
        "reply",
        "reply",
        lambda f, who, t: listening.reply(app, t, who.name, f.get("body"), OUTBOX, ws.settings),
    )
    change(
        "resolve",
        "resolved",
        lambda f, who, t: feedback.resolve(
            app.unit_of_work, t, f.get("reason"), f.get("note"), who.name, app.now()
        ),
    )
    change("reopen", "reopened", lambda f, who, t: feedback.reopen(app.unit_of_work, t, who.name, app.now()))
    return router
