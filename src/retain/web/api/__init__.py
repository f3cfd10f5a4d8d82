"""The JSON API under /api/v1, for the store's developers and integrations: one module per
family of resources, each on the store's own use cases and queries."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPBearer

from retain.web.api.analytics import analytics_routes
from retain.web.api.codes import code_routes
from retain.web.api.common import one_value_each
from retain.web.api.customers import customer_routes
from retain.web.api.document import openapi_document
from retain.web.api.events import event_routes
from retain.web.api.feedback import feedback_routes
from retain.web.api.flows import flow_routes
from retain.web.api.loyalty import loyalty_routes
from retain.web.api.messages import message_routes
from retain.web.api.orders import order_routes
from retain.web.api.tickets import ticket_routes
from retain.web.auth import SESSION_COOKIE
from retain.web.context import Workspace

# Declared so the document names both ways in; ``Auth`` does the checking.
BEARER = HTTPBearer(scheme_name="apiKey", bearerFormat="rk_...", description="An API key.", auto_error=False)
SESSION = APIKeyCookie(
    name=SESSION_COOKIE, scheme_name="session", description="A signed-in browser's session.", auto_error=False
)


def api_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.get("/openapi.json", include_in_schema=False)
    def document(request: Request) -> dict[str, Any]:
        return openapi_document(request.app)

    secured = APIRouter(dependencies=[Security(BEARER), Security(SESSION), Depends(one_value_each)])
    for build in (
        customer_routes,
        loyalty_routes,
        order_routes,
        event_routes,
        analytics_routes,
        flow_routes,
        message_routes,
        code_routes,
        feedback_routes,
        ticket_routes,
    ):
        secured.include_router(build(ws))
    router.include_router(secured)
    return router
