"""The dashboard application."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from retain import __version__
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.lift import lift
from retain.domain.summary import StoreSummary
from retain.store.queries import store_summary
from retain.web.feedback import feedback_routes
from retain.web.loyalty import loyalty_routes
from retain.web.mail import mail_routes
from retain.web.team import team_routes

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def get_summary(request: Request) -> StoreSummary:
    engine: Engine = request.app.state.engine
    return store_summary(engine)


SummaryDep = Annotated[StoreSummary, Depends(get_summary)]


def create_app(store: App, settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="Retain", version=__version__, docs_url=None, redoc_url=None)
    app.state.engine = store.engine
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(mail_routes(store, templates, settings or Settings()))
    app.include_router(loyalty_routes(store, settings or Settings()))
    app.include_router(feedback_routes(store, templates, settings or Settings()))
    app.include_router(team_routes(store, templates))

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request, figures: SummaryDep) -> HTMLResponse:
        return templates.TemplateResponse(request, "home.html", {"summary": figures, "version": __version__})

    @app.get("/flows", response_class=HTMLResponse)
    def flow_status(request: Request) -> HTMLResponse:
        window = 30
        with store.unit_of_work() as uow:
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
        context = {"rows": rows, "window": window, "version": __version__}
        return templates.TemplateResponse(request, "flows.html", context)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
