"""Webhooks from the store's platform."""

from __future__ import annotations

from fastapi import APIRouter

from retain.web.context import Workspace


def webhook_routes(ws: Workspace) -> APIRouter:
    return APIRouter()
