"""The dashboard: server-rendered pages for the store's team, one module per section."""

from __future__ import annotations

from fastapi import APIRouter

from retain.web.context import Workspace
from retain.web.dashboard import (
    cohorts,
    customers,
    feedback,
    flows,
    inbox,
    loyalty,
    overview,
    segments,
    settings,
)  # fmt: skip

SECTIONS = (overview, cohorts, segments, customers, flows, loyalty, feedback, inbox, settings)


def dashboard_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for section in SECTIONS:
        router.include_router(section.routes(ws))
    return router
