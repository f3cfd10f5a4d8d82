"""Customer events: what flows react to (an order paid, a refund, an answer), read and sent
in by the store's integration. Each (event, ref) happens once: sending it again changes
nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from retain.domain.flows import EventName
from retain.store import api_queries
from retain.web.api.common import (
    MAX_ID,
    ApiError,
    Cursor,
    CustomerFilter,
    Instant,
    Int,
    Limit,
    Page,
    Text,
    decode_cursor,
    errors,
    page_of,
    plain_json,
)
from retain.web.context import Workspace


class Event(BaseModel):
    id: int
    customer_id: int
    event: str
    at: datetime
    ref: str
    data: dict[str, Any]


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Int = Field(ge=1, le=MAX_ID)
    event: EventName
    ref: Text = Field(min_length=1, max_length=64, description="Makes the event happen once.")
    at: Instant | None = Field(None, description="When it happened; default now.")
    data: Annotated[dict[str, Any], AfterValidator(plain_json)] = {}


class EventResult(BaseModel):
    event: Event
    created: bool = Field(description="False when an event with this ref was recorded before.")


def event_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(tags=["events"])
    read, ingest = Depends(ws.auth.need("read")), Depends(ws.auth.need("ingest"))

    @router.get("/events", response_model=Page[Event], responses=errors(), dependencies=[read])
    def list_events(
        request: Request,
        customer_id: CustomerFilter = None,
        event: Annotated[EventName | None, Query(description="Only events of this kind.")] = None,
        since: Annotated[Instant | None, Query(description="At or after.")] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Customer events, newest first: what flows react to."""
        with ws.app.engine.connect() as connection:
            found = api_queries.events_page(
                connection, customer_id=customer_id, event=event, since=since,
                after=decode_cursor(cursor), limit=limit,
            )  # fmt: skip
        return page_of(request, found.rows, found)

    @router.post(
        "/events",
        status_code=201,
        response_model=EventResult,
        dependencies=[ingest],
        responses=errors(400, 404, 413, known=(EventResult, "Recorded before: nothing changed.")),
    )
    def post_event(body: EventIn, response: Response) -> dict[str, Any]:
        """Record a customer event for flows; the same event and ref again changes nothing."""
        at = body.at or ws.app.now()
        with ws.app.unit_of_work() as uow:
            if not uow.feedback.customer_exists(body.customer_id):
                raise ApiError(404, "unknown_customer", f"no customer {body.customer_id}")
            created = uow.feedback.add_event(body.customer_id, body.event, body.ref, body.data, at)
            found = api_queries.event_by_ref(uow.connection, body.event, body.ref)
            uow.commit()
        assert found is not None
        response.status_code = 201 if created else 200
        return {"event": found, "created": created}

    return router
