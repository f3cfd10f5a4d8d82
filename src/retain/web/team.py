"""The team page: each agent's figures against the store's goals, and kudos.

Keeping customers is people's work (resolving a complaint quickly, calling someone back),
so the page shows who did it and lets anyone say thank you.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from retain import listening
from retain.domain.feedback import FeedbackError
from retain.service import feedback
from retain.web.auth import Principal
from retain.web.context import Workspace

MAX_KUDOS = 1_000  # characters


def team_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    app, templates = ws.app, ws.templates

    def page(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
        figures = feedback.team_figures(app.unit_of_work)
        goals = listening.load_goals(app)
        with app.unit_of_work() as uow:
            given = uow.feedback.kudos_counts()
            recent = uow.feedback.kudos(20)
            overdue = uow.feedback.overdue_count(app.now())
            team = {u.name for u in uow.access.users() if u.can("support")}
        agents = sorted({f.agent for f in figures} | set(given) | team)
        rows = [{"figures": f, "met": goals.met(f), "kudos": given.get(f.agent, 0)} for f in figures]
        context = {
            "rows": rows, "goals": goals, "recent": recent, "agents": agents, "overdue": overdue,
            "error": None, "form": {}, **extra,
        }  # fmt: skip
        return templates.TemplateResponse(request, "team.html", context, status_code=status)

    @router.get("/team", response_class=HTMLResponse)
    def team(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> HTMLResponse:
        return page(request)

    @router.post("/team/kudos", response_class=HTMLResponse)
    async def give_kudos(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        agent, message = (form.get(k, "").strip() for k in ("agent", "message"))
        giver = who.name
        try:
            if len(message) > MAX_KUDOS:
                raise FeedbackError(f"keep the message under {MAX_KUDOS:,} characters")
            feedback.kudos(app.unit_of_work, agent, giver, message, app.now())
        except FeedbackError as exc:
            return page(request, 422, error=str(exc), form=form)
        return RedirectResponse("/team", status_code=303)

    return router
