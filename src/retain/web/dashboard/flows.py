"""The flows page: every flow, who it reached, and what it earned against its holdout."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from retain.domain.lift import lift
from retain.web.auth import Principal
from retain.web.context import Workspace


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/flows", response_class=HTMLResponse)
    def flow_status(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> HTMLResponse:
        window = 30
        with ws.app.unit_of_work() as uow:
            definitions = uow.flows.definitions()
            counts, capped = uow.flows.counts(), uow.flows.skipped_by_cap()
            rows = []
            for name in sorted(definitions):
                data, enabled = definitions[name]
                states = counts.get(name, {})
                found = lift(
                    uow.flows.entries(name), uow.flows.orders_of_entrants(name), timedelta(days=window)
                )
                rows.append(
                    {
                        "name": name, "title": data.get("title", name), "enabled": enabled,
                        "entered": sum(states.values()), "active": states.get("active", 0),
                        "completed": states.get("completed", 0), "exited": states.get("exited", 0),
                        "holdout": states.get("holdout", 0), "capped": capped.get(name, 0), "lift": found,
                    }
                )  # fmt: skip
        return ws.templates.TemplateResponse(request, "flows.html", {"rows": rows, "window": window})

    return router
