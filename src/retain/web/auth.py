"""Signing in, and who each request is: a team member's session cookie or an integration's
API key (``Authorization: Bearer rk_...``).

Pages and endpoints declare what they need with ``Depends(auth.need("marketing"))``. A
page that is not signed in goes to the login form; the API answers with an error object
(401 unknown, 403 not allowed). Every form a signed-in browser posts carries the session's
CSRF token (the ``csrf`` field, or the ``X-CSRF-Token`` header for scripts); an API key
needs none, because no browser sends one by itself.

The customer-facing pages (unsubscribe, preferences, surveys, loyalty) never come here:
they take signed tokens from the links in messages.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from retain.bootstrap import App
from retain.config import Settings
from retain.domain.access import AccessError, ApiKey, Permission, Throttle, User
from retain.service import access

SESSION_COOKIE = "retain_session"
LOGIN_COOKIE = "retain_login"  # the login form's own CSRF token (double submit)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Principal:
    """Who is asking: a signed-in user (with their session's CSRF token) or an API key."""

    user: User | None = None
    key: ApiKey | None = None
    csrf: str | None = None

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.name
        return f"key:{self.key.name}" if self.key else "anonymous"

    def can(self, permission: Permission) -> bool:
        holder = self.user or self.key
        return holder is not None and holder.can(permission)


class Denied(Exception):
    """Raised by ``need``; turned into a redirect, a page or an error object."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def secure(request: Request, settings: Settings) -> bool:
    """Whether cookies get the Secure flag: the request came over HTTPS (directly or
    through a proxy that says so) or the public address is HTTPS."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
    return request.url.scheme == "https" or forwarded == "https" or settings.public_url.startswith("https://")


def safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil.example`` and ``https://...`` go home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


class Auth:
    def __init__(self, app: App, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self.throttle = Throttle()

    def principal(self, request: Request) -> Principal | None:
        cached = getattr(request.state, "principal", None)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        found: Principal | None = None
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            key = access.key_holder(self.app.unit_of_work, header[7:].strip(), self.app.now())
            found = Principal(key=key) if key else None
        else:
            token = request.cookies.get(SESSION_COOKIE, "")
            signed = access.signed_in(self.app.unit_of_work, token, self.app.now()) if token else None
            found = Principal(user=signed[0], csrf=signed[1]) if signed else None
        request.state.principal = found
        return found

    def need(self, permission: Permission) -> Callable[[Request], Awaitable[Principal]]:
        """A dependency: the request's principal, allowed ``permission``, CSRF checked."""

        async def dependency(request: Request) -> Principal:
            who = self.principal(request)
            if who is None:
                raise Denied(
                    401, "unauthenticated", "sign in, or send an API key as 'Authorization: Bearer ...'"
                )
            if not who.can(permission):
                raise Denied(403, "forbidden", f"this needs the {permission!r} permission")
            if request.method not in SAFE_METHODS and who.user is not None:
                sent = request.headers.get("x-csrf-token") or await _form_field(request, "csrf")
                if not sent or who.csrf is None or not hmac.compare_digest(sent, who.csrf):
                    raise Denied(403, "csrf", "the form expired or came from another site: reload the page")
            return who

        return dependency


async def _form_field(request: Request, name: str) -> str | None:
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        values = parse_qs((await request.body()).decode("utf-8", "replace")).get(name)
        return values[0] if values else None
    if kind.startswith("multipart/form-data"):
        await request.body()  # cached, so the route can read the form again
        value = (await request.form()).get(name)
        return value if isinstance(value, str) else None
    return None


def csrf_input(request: Request) -> Markup:
    """The hidden field every dashboard form carries."""
    who = getattr(request.state, "principal", None)
    token = who.csrf if isinstance(who, Principal) and who.csrf else ""
    return Markup(f'<input type="hidden" name="csrf" value="{escape(token)}">')


def denied_handler(templates: Jinja2Templates) -> Callable[[Request, Exception], Response]:
    def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Denied)
        if is_api(request):
            return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, status_code=exc.status)
        if exc.status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        context = {"message": exc.message}
        return templates.TemplateResponse(request, "denied.html", context, status_code=exc.status)

    return handle


def login_routes(auth: Auth, templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def form(request: Request, status: int = 200, **extra: Any) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        context = {
            "login_csrf": token,
            "next": safe_next(request.query_params.get("next")),
            "error": None,
            **extra,
        }
        response = templates.TemplateResponse(request, "login.html", context, status_code=status)
        response.set_cookie(
            LOGIN_COOKIE,
            token,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=secure(request, auth.settings),
        )
        return response

    @router.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return form(request)

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        fields = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        email, target = fields.get("email", ""), safe_next(fields.get("next"))
        cookie = request.cookies.get(LOGIN_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie, fields.get("csrf", "")):
            return form(request, 403, error="The form expired: please try again.", email=email, next=target)
        address = request.client.host if request.client else "unknown"
        try:
            signed = access.sign_in(
                auth.app.unit_of_work,
                email,
                fields.get("password", ""),
                auth.app.now(),
                auth.throttle,
                address,
            )
        except access.TooManyAttempts as exc:
            page = form(request, 429, error=str(exc).capitalize() + ".", email=email, next=target)
            page.headers["Retry-After"] = str(max(1, int(exc.wait.total_seconds())))
            return page
        except AccessError:
            return form(request, 401, error="Wrong e-mail or password.", email=email, next=target)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            signed.token,
            max_age=int(access.SESSION_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=secure(request, auth.settings),
        )
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        who = await auth.need("read")(request)
        token = request.cookies.get(SESSION_COOKIE, "")
        if who.user is not None and token:
            access.sign_out(auth.app.unit_of_work, token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router
