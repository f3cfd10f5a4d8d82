"""The team page: each agent's figures against the store's goals, and kudos.

Keeping customers is people's work (resolving a complaint quickly, calling someone back),
so the page shows who did it and lets anyone say thank you.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from retain import __version__, listening
from retain.bootstrap import App
from retain.domain.feedback import FeedbackError
from retain.service import feedback

MAX_KUDOS = 1_000  # characters


def team_routes(app: App, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter()

    def page(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
        figures = feedback.team_figures(app.unit_of_work)
        goals = listening.load_goals(app)
        with app.unit_of_work() as uow:
            given = uow.feedback.kudos_counts()
            recent = uow.feedback.kudos(20)
            overdue = uow.feedback.overdue_count(app.now())
        agents = sorted({f.agent for f in figures} | set(given))
        rows = [{"figures": f, "met": goals.met(f), "kudos": given.get(f.agent, 0)} for f in figures]
        context = {
            "rows": rows, "goals": goals, "recent": recent, "agents": agents, "overdue": overdue,
            "version": __version__, "error": None, "form": {}, **extra,
        }  # fmt: skip
        return templates.TemplateResponse(request, "team.html", context, status_code=status)

    @router.get("/team", response_class=HTMLResponse)
    def team(request: Request) -> HTMLResponse:
        return page(request)

    @router.post("/team/kudos", response_class=HTMLResponse)
    async def give_kudos(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        agent, giver, message = (form.get(k, "").strip() for k in ("agent", "giver", "message"))
        try:
            if len(message) > MAX_KUDOS:
                raise FeedbackError(f"keep the message under {MAX_KUDOS:,} characters")
            feedback.kudos(app.unit_of_work, agent, giver, message, app.now())
        except FeedbackError as exc:
            return page(request, 422, error=str(exc), form=form)
        return RedirectResponse("/team", status_code=303)

    return router
