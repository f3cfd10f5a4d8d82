"""The workspace application: the dashboard, the API, the store's webhooks and the pages
customers reach from their messages."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from retain import __version__
from retain.bootstrap import App
from retain.config import Settings
from retain.web.api import api_routes
from retain.web.api.errors import install_error_handlers
from retain.web.auth import Auth, Denied, denied_handler, login_routes
from retain.web.context import HERE, Workspace, templates
from retain.web.dashboard import dashboard_routes
from retain.web.feedback import feedback_routes
from retain.web.guard import Guard
from retain.web.loyalty import loyalty_routes
from retain.web.mail import mail_routes
from retain.web.team import team_routes
from retain.web.webhooks import webhook_routes


def create_app(store: App, settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    ws = Workspace(store, settings, Auth(store, settings))
    app = FastAPI(title="Retain", version=__version__, docs_url=None, redoc_url=None)
    app.state.engine = store.engine
    app.state.workspace = ws
    app.add_middleware(Guard)
    app.add_exception_handler(Denied, denied_handler(templates))
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # First: routes are matched in order, and the store's platform may post hundreds a second.
    app.include_router(webhook_routes(ws))
    app.include_router(login_routes(ws.auth, templates))
    app.include_router(dashboard_routes(ws))
    app.include_router(api_routes(ws))
    app.include_router(mail_routes(store, templates, settings))
    app.include_router(loyalty_routes(store, settings))
    app.include_router(feedback_routes(store, templates, settings))
    app.include_router(team_routes(ws))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
