"""The message templates and their previews, made by the same code as ``retain messages
preview``: for Retain's sample customer, or for a customer the person names.

A message's HTML never runs inside the dashboard: it is served at a URL of its own whose
Content-Security-Policy forbids scripts, forms and plugins and puts it in a sandbox, and the
page shows it in an ``<iframe sandbox>``, so even a template's hostile markup could neither
run nor reach the dashboard's session.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import escape

from retain.domain.messages import MessageError, RenderedMessage
from retain.domain.personalization import BrandError
from retain.mailer import load_templates, preview
from retain.messaging.templating import TemplateError, sample_context
from retain.web.auth import Denied, Principal
from retain.web.context import Workspace
from retain.web.dashboard.forms import not_found

FRAME_POLICY = (
    "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; font-src https: data:; "
    "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"
)
REFUSED = (TemplateError, BrandError, MessageError, ValueError)


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/templates", response_class=HTMLResponse)
    def template_list(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> HTMLResponse:
        templates = load_templates(ws.app)
        sample = sample_context()
        rows = []
        for name in sorted(templates.all):
            try:
                subject = templates.render(name, sample).subject
            except TemplateError as exc:  # a store's template that no longer renders
                subject = f"(does not render: {exc})"
            source = "store" if name in templates.own else "Retain"
            rows.append(
                {"name": name, "topic": templates.all[name].topic, "subject": subject, "source": source}
            )
        return ws.templates.TemplateResponse(request, "templates.html", {"rows": rows})

    @router.get("/templates/{name}/preview", response_class=HTMLResponse)
    def preview_page(
        request: Request, name: str, customer: str = "", who: Principal = Depends(ws.auth.need("read"))
    ) -> Response:
        if name not in load_templates(ws.app).all:
            return not_found(ws.templates, request, f"There is no template {name!r}.")
        error, message = None, None
        try:
            message = _render(ws, who, name, customer)
        except REFUSED as exc:
            error = str(exc)
        context = {"name": name, "customer": customer.strip(), "message": message, "error": error}
        return ws.templates.TemplateResponse(
            request, "template_preview.html", context, status_code=422 if error else 200
        )

    @router.get("/templates/{name}/preview/frame")
    def preview_frame(
        name: str, customer: str = "", who: Principal = Depends(ws.auth.need("read"))
    ) -> Response:
        try:
            html = _render(ws, who, name, customer).html
        except REFUSED as exc:
            html, status = f"<p>{escape(str(exc))}</p>", 422
        else:
            status = 200
        headers = {
            "Content-Security-Policy": FRAME_POLICY,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "no-store",
        }
        return HTMLResponse(html, status_code=status, headers=headers)

    return router


def _render(ws: Workspace, who: Principal, name: str, customer: str) -> RenderedMessage:
    """A real customer's message holds their signed links: only for those who may send."""
    chosen = customer.strip() or None
    if chosen is not None and not who.can("marketing"):
        raise Denied(403, "forbidden", "previewing for a named customer needs the 'marketing' permission")
    return preview(ws.app, name, chosen, ws.settings)
