"""Messages: what was sent to whom and how it went, the templates, and a template's preview
as a customer would get it (nothing is sent).

A preview for a named customer holds that customer's signed links (unsubscribe,
preferences), so it needs the ``marketing`` permission; the sample customer's needs ``read``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from retain.domain.messages import MessageError
from retain.domain.personalization import BrandError
from retain.mailer import load_templates, preview
from retain.messaging.templating import TemplateError, sample_context
from retain.store import api_queries
from retain.web.api.common import (
    ApiError,
    Cursor,
    CustomerFilter,
    Limit,
    Page,
    Text,
    decode_cursor,
    errors,
    not_found,
    page_of,
)
from retain.web.api.schemas import Message
from retain.web.auth import Principal
from retain.web.context import Workspace

TemplateName = Annotated[Text, Query(min_length=1, max_length=64, description="A template's name.")]
Status = Literal["sent", "skipped", "temporary_failure", "permanent_failure"]


class Template(BaseModel):
    name: str
    topic: str
    subject: str | None = Field(description="As the sample customer reads it; null when it does not render.")
    source: str = Field(description="store: the store's own; retain: shipped with Retain.")


class Preview(BaseModel):
    template: str
    subject: str
    text: str
    html: str = Field(description="The e-mail's HTML: show it sandboxed, never inside your own page.")


def template_list(ws: Workspace) -> list[dict[str, Any]]:
    templates = load_templates(ws.app)
    sample = sample_context()
    rows = []
    for name in sorted(templates.all):
        try:
            subject: str | None = templates.render(name, sample).subject
        except TemplateError:  # a store's template that no longer renders
            subject = None
        source = "store" if name in templates.own else "retain"
        rows.append({"name": name, "topic": templates.all[name].topic, "subject": subject, "source": source})
    return rows


def rendered(ws: Workspace, template: str, customer: str | None) -> dict[str, Any]:
    if template not in load_templates(ws.app).all:
        raise not_found(f"template {template!r}")
    try:
        done = preview(ws.app, template, customer, ws.settings)
    except BrandError as exc:
        raise ApiError(409, "no_brand", str(exc)) from None
    except (TemplateError, MessageError) as exc:
        raise ApiError(409, "template_error", str(exc)) from None
    except ValueError as exc:  # no such customer
        raise ApiError(404, "unknown_customer", str(exc)) from None
    return {"template": template, "subject": done.subject, "text": done.text, "html": done.html}


def message_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/messages", tags=["messages"])
    need_read = ws.auth.need("read")

    @router.get("", response_model=Page[Message], responses=errors(), dependencies=[Depends(need_read)])
    def list_messages(
        request: Request,
        customer_id: CustomerFilter = None,
        template: Annotated[Text | None, Query(max_length=64, description="Only this template's.")] = None,
        status: Annotated[Status | None, Query(description="Only messages with this outcome.")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Messages handed to a channel (or skipped), newest first."""
        with ws.app.engine.connect() as connection:
            found = api_queries.messages_page(
                connection, customer_id=customer_id, template=template, status=status,
                after=decode_cursor(cursor), limit=limit,
            )  # fmt: skip
        return page_of(request, found.rows, found)

    @router.get(
        "/templates", response_model=list[Template], responses=errors(), dependencies=[Depends(need_read)]
    )
    async def templates() -> list[dict[str, Any]]:
        """Every template: the store's own and Retain's, with the subject a sample customer reads."""
        return await run_in_threadpool(template_list, ws)

    @router.get("/preview", response_model=Preview, responses=errors(404, 409))
    async def preview_message(
        template: TemplateName,
        customer: Annotated[
            Text | None,
            Query(
                min_length=1,
                max_length=320,
                description="The store's id or e-mail of a customer; none for Retain's sample customer.",
            ),
        ] = None,
        who: Principal = Depends(need_read),
    ) -> dict[str, Any]:
        """A template filled in for a customer (or the sample customer), as they would get it."""
        if customer is not None and not who.can("marketing"):
            raise ApiError(
                403, "forbidden", "previewing for a named customer needs the 'marketing' permission"
            )
        return await run_in_threadpool(rendered, ws, template, customer)

    return router
