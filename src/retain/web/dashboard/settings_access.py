"""The team and the integrations on the settings page: users with their roles (a new user's
random password shown once), and API keys with their scopes (a new key shown once,
revocable). The same use cases as ``retain users`` and ``retain keys``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retain.domain.access import AccessError
from retain.service import access
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard.forms import back, read_form

Page = Callable[..., HTMLResponse]
NOTICES = {
    "role": "The role is changed.", "disabled": "The user is disabled and signed out everywhere.",
    "enabled": "The user may sign in again.", "revoked": "The key is revoked: it is refused from now on.",
}  # fmt: skip


def routes(ws: Workspace, page: Page) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def refused(request: Request, who: Principal, exc: Exception, where: str, **extra: Any) -> HTMLResponse:
        return page(request, who, 422, error=str(exc), error_at=where, **extra)

    @router.post("/settings/users", response_class=HTMLResponse)
    async def create_user(request: Request, who: Principal = Depends(ws.auth.need("admin"))) -> Response:
        form = await read_form(request)
        password = access.random_password()
        try:
            user = access.create_user(
                ws.app.unit_of_work,
                form.get("email"),
                form.get("name"),
                form.get("role"),
                password,
                ws.app.now(),
            )
        except AccessError as exc:
            return refused(request, who, exc, "users", form=form.values())
        return page(request, who, made_user=(user, password))  # the password, this once

    @router.post("/settings/users/{user_id}/role", response_class=HTMLResponse)
    async def change_role(
        request: Request, user_id: int, who: Principal = Depends(ws.auth.need("admin"))
    ) -> Response:
        role = (await read_form(request)).get("role")
        try:
            access.change_user(ws.app.unit_of_work, user_id, ws.app.now(), role=role)
        except AccessError as exc:
            return refused(request, who, exc, "users")
        return back("/settings", "role")

    @router.post("/settings/users/{user_id}/disable", response_class=HTMLResponse)
    def disable(request: Request, user_id: int, who: Principal = Depends(ws.auth.need("admin"))) -> Response:
        try:
            if who.user is not None and who.user.id == user_id:
                raise AccessError("you cannot disable yourself: ask another admin")
            access.change_user(ws.app.unit_of_work, user_id, ws.app.now(), disabled=True)
        except AccessError as exc:
            return refused(request, who, exc, "users")
        return back("/settings", "disabled")

    @router.post("/settings/users/{user_id}/enable", response_class=HTMLResponse)
    def enable(request: Request, user_id: int, who: Principal = Depends(ws.auth.need("admin"))) -> Response:
        try:
            access.change_user(ws.app.unit_of_work, user_id, ws.app.now(), disabled=False)
        except AccessError as exc:
            return refused(request, who, exc, "users")
        return back("/settings", "enabled")

    @router.post("/settings/keys", response_class=HTMLResponse)
    async def create_key(request: Request, who: Principal = Depends(ws.auth.need("admin"))) -> Response:
        form = await read_form(request)
        try:
            key, secret = access.create_key(
                ws.app.unit_of_work, form.get("name"), form.all("scope"), ws.app.now()
            )
        except AccessError as exc:
            return refused(request, who, exc, "keys", form=form.values())
        return page(request, who, made_key=(key, secret))  # the key, this once

    @router.post("/settings/keys/{key_id}/revoke", response_class=HTMLResponse)
    def revoke(request: Request, key_id: int, who: Principal = Depends(ws.auth.need("admin"))) -> Response:
        try:
            access.revoke_key(ws.app.unit_of_work, key_id, ws.app.now())
        except AccessError as exc:
            return refused(request, who, exc, "keys")
        return back("/settings", "revoked")

    return router
