"""The cohorts page."""

from __future__ import annotations

from fastapi import APIRouter

from retain.web.context import Workspace


def routes(ws: Workspace) -> APIRouter:
    return APIRouter(include_in_schema=False)
