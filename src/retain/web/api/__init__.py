"""The JSON API under /api/v1, for the store's developers and integrations."""

from __future__ import annotations

from fastapi import APIRouter

from retain.web.context import Workspace


def api_routes(ws: Workspace) -> APIRouter:
    return APIRouter(prefix="/api/v1")
