"""The overview page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from retain.store.queries import store_summary
from retain.web.auth import Principal
from retain.web.context import Workspace


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> HTMLResponse:
        return ws.templates.TemplateResponse(request, "home.html", {"summary": store_summary(ws.app.engine)})

    return router
