"""The settings page, for admins: the brand and sender every e-mail wears (the same record as
``retain messages brand``), the communication calendar and quiet hours, the webhooks' shared
secrets (kept by ``retain.workspace``, the environment's winning), and the team's users and
the integrations' API keys (``settings_access``)."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retain import workspace
from retain.domain.access import ROLES, SCOPES
from retain.domain.messages import Mailbox, MessageError
from retain.domain.personalization import Brand, BrandError
from retain.mailer import load_brand, save_brand
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard import settings_access
from retain.web.dashboard.forms import back, notice, private, read_form

BRAND_FIELDS = ("store_name", "sender_name", "sender_address", "postal_address", "shop_url", "logo_url",
                "accent_colour")  # fmt: skip
NOTICES = {
    "brand": "The brand is saved: the next e-mails wear it.",
    "limits": "The calendar and quiet hours are saved.",
    "secret": "The secret is saved.",
    "forgotten": "The secret is forgotten: that webhook is refused until one is set.",
    **settings_access.NOTICES,
}


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(request: Request, who: Principal, status: int = 200, **extra: Any) -> HTMLResponse:
        try:
            brand: dict[str, Any] = asdict(load_brand(ws.app))
        except BrandError:
            brand = {}
        with ws.app.unit_of_work() as uow:
            users, keys = uow.access.users(), uow.access.keys()
        context = {
            "brand": brand, "mail_from": ws.settings.mail_from, "shown": workspace.shown(ws.app, ws.settings),
            "secret_names": workspace.webhook_secrets(),
            "users": users, "keys": keys, "roles": ROLES, "scopes": SCOPES, "me": who.user,
            "notice": notice(request, NOTICES), "error": None, "error_at": None, "form": {}, **extra,
        }  # fmt: skip
        return private(ws.templates.TemplateResponse(request, "settings.html", context, status_code=status))

    @router.get("/settings", response_class=HTMLResponse)
    def settings_page(request: Request, who: Principal = Depends(ws.auth.need("admin"))) -> HTMLResponse:
        return page(request, who)

    @router.post("/settings/brand", response_class=HTMLResponse)
    async def brand(request: Request, who: Principal = Depends(ws.auth.need("admin"))) -> Response:
        form = await read_form(request)
        values = {name: form.get(name).strip() for name in BRAND_FIELDS}
        try:
            Mailbox(values["sender_address"], values["sender_name"])  # as `--sender` is checked
            current = _current_brand(ws)
            accent = values["accent_colour"] or current.get("accent_colour", "#1F6F5C")
            new = Brand(
                **{**current, **values, "logo_url": values["logo_url"] or None, "accent_colour": accent}
            )
        except (BrandError, MessageError) as exc:
            return page(request, who, 422, error=str(exc), error_at="brand", form=form.values())
        save_brand(ws.app, new)
        return back("/settings", "brand")

    @router.post("/settings/limits", response_class=HTMLResponse)
    async def limits(request: Request, who: Principal = Depends(ws.auth.need("admin"))) -> Response:
        form = await read_form(request)
        messages, days = form.number("cap_messages"), form.number("cap_days")
        try:
            if messages is None or days is None:
                raise workspace.WorkspaceError("give the calendar as whole numbers of messages and days")
            workspace.save_limits(ws.app, messages, days, form.get("quiet_hours").strip())
        except workspace.WorkspaceError as exc:
            return page(request, who, 422, error=str(exc), error_at="limits", form=form.values())
        return back("/settings", "limits")

    @router.post("/settings/secrets/{name}", response_class=HTMLResponse)
    async def secret(
        request: Request, name: str, who: Principal = Depends(ws.auth.need("admin"))
    ) -> Response:
        form = await read_form(request)
        intent = form.get("intent")
        made = secrets.token_urlsafe(32) if intent == "generate" else None
        value = None if intent == "forget" else made or form.get("secret")
        try:
            workspace.save_secret(ws.app, name, value)
        except workspace.WorkspaceError as exc:
            return page(request, who, 422, error=str(exc), error_at=f"secret-{name}")
        if made is not None:  # shown this once, to paste into the other platform
            return page(request, who, made_secret=(name, made))
        return back("/settings", "forgotten" if value is None else "secret")

    router.include_router(settings_access.routes(ws, page))
    return router


def _current_brand(ws: Workspace) -> dict[str, Any]:
    try:
        return asdict(load_brand(ws.app))
    except BrandError:
        return {}
