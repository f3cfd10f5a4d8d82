"""Tickets: the list with its filters, one ticket with what the customer wrote and its
history, and the changes an agent makes (assign, priority, notes, resolve, reopen), each
through the ticket use cases and recorded under the agent's name. Changes need ``support``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from retain.domain.tickets import Priority, Resolution, Status, TicketError
from retain.service import feedback as service
from retain.store import api_queries
from retain.web.api.common import (
    MAX_ID,
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
from retain.web.api.feedback import Team
from retain.web.api.schemas import Feedback, Ticket
from retain.web.auth import Principal
from retain.web.context import Workspace

TicketId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="The ticket's number.")]
TICKET_FEEDBACK = 100


class Note(BaseModel):
    id: int
    kind: str = Field(description="note (internal), reply (to the customer) or event.")
    author: str
    body: str
    at: datetime


class TicketDetail(BaseModel):
    ticket: Ticket
    feedback: list[Feedback] = Field(description="What the customer wrote.")
    notes: list[Note] = Field(description="The ticket's history, oldest first.")


class TicketChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: Text | None = Field(
        None, min_length=1, max_length=64, pattern=r"\S", description="The agent who takes it."
    )
    priority: Priority | None = None


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text = Field(
        min_length=1,
        max_length=10_000,
        pattern=r"\S",
        description="An internal note; the customer never sees it.",
    )


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Resolution
    note: Text = Field("", max_length=10_000, description="What was done, for the record.")


def ticket_detail(ws: Workspace, ticket_id: int) -> dict[str, Any]:
    with ws.app.unit_of_work() as uow:
        ticket = uow.feedback.ticket(ticket_id)
        if ticket is None:
            raise not_found(f"ticket {ticket_id}")
        found = api_queries.feedback_page(
            uow.connection, filters={"ticket_id": ticket_id}, after=None, limit=TICKET_FEEDBACK
        )
        return {"ticket": ticket, "feedback": found.rows, "notes": uow.feedback.notes(ticket_id)}


def ticket_of(ws: Workspace, ticket_id: int) -> dict[str, Any]:
    with ws.app.unit_of_work() as uow:
        found = uow.feedback.ticket(ticket_id)
    if found is None:
        raise not_found(f"ticket {ticket_id}")
    return found


def changed(ws: Workspace, ticket_id: int, change: Any) -> dict[str, Any]:
    """Make a change to a ticket through its use case; the ticket as it is after."""
    ticket_of(ws, ticket_id)
    try:
        change()
    except TicketError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return ticket_of(ws, ticket_id)


def ticket_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/tickets", tags=["tickets"])
    read, support = Depends(ws.auth.need("read")), ws.auth.need("support")

    @router.get("", response_model=Page[Ticket], responses=errors(), dependencies=[read])
    def list_tickets(
        request: Request,
        status: Annotated[
            list[Status] | None, Query(description="Any of these statuses; all by default.")
        ] = None,
        assignee: Annotated[
            Text | None, Query(max_length=64, description="Only this agent's tickets.")
        ] = None,
        team: Team = None,
        customer_id: CustomerFilter = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Tickets in the order they were opened."""
        with ws.app.engine.connect() as connection:
            found = api_queries.tickets_page(
                connection, status=status or (), assignee=assignee, team=team, customer_id=customer_id,
                after=decode_cursor(cursor), limit=limit,
            )  # fmt: skip
        return page_of(request, found.rows, found)

    @router.get(
        "/{ticket_id}",
        response_model=TicketDetail,
        responses=errors(404),
        dependencies=[read],
    )
    async def get_ticket(ticket_id: TicketId) -> dict[str, Any]:
        """A ticket, what the customer wrote, and its history."""
        return await run_in_threadpool(ticket_detail, ws, ticket_id)

    @router.patch("/{ticket_id}", response_model=Ticket, responses=errors(400, 404, 409, 413))
    def change_ticket(
        ticket_id: TicketId, body: TicketChange, who: Principal = Depends(support)
    ) -> dict[str, Any]:
        """Assign the ticket to an agent, or set its priority."""
        now, app = ws.app.now(), ws.app

        def change() -> None:
            if body.assignee is not None:
                service.assign(app.unit_of_work, ticket_id, body.assignee, who.name, now)
            if body.priority is not None:
                service.set_priority(app.unit_of_work, ticket_id, body.priority, who.name, now)

        return changed(ws, ticket_id, change)

    @router.post(
        "/{ticket_id}/notes",
        status_code=201,
        response_model=Note,
        responses=errors(400, 404, 409, 413),
    )
    def add_note(ticket_id: TicketId, body: NoteIn, who: Principal = Depends(support)) -> dict[str, Any]:
        """Add an internal note to the ticket's history."""
        ticket_of(ws, ticket_id)
        try:
            note_id = service.note(ws.app.unit_of_work, ticket_id, who.name, body.text, ws.app.now())
        except TicketError as exc:
            raise ApiError(409, "conflict", str(exc)) from None
        with ws.app.unit_of_work() as uow:
            return next(n for n in uow.feedback.notes(ticket_id) if n["id"] == note_id)

    @router.post(
        "/{ticket_id}/resolve",
        response_model=Ticket,
        responses=errors(400, 404, 409, 413),
    )
    def resolve(ticket_id: TicketId, body: ResolveIn, who: Principal = Depends(support)) -> dict[str, Any]:
        """Resolve the ticket with its reason; flows may then ask the customer how it went."""
        return changed(
            ws,
            ticket_id,
            lambda: service.resolve(
                ws.app.unit_of_work, ticket_id, body.reason, body.note, who.name, ws.app.now()
            ),
        )

    @router.post("/{ticket_id}/reopen", response_model=Ticket, responses=errors(404, 409))
    def reopen(ticket_id: TicketId, who: Principal = Depends(support)) -> dict[str, Any]:
        """Open a resolved ticket again; its resolution clock starts over."""
        return changed(
            ws, ticket_id, lambda: service.reopen(ws.app.unit_of_work, ticket_id, who.name, ws.app.now())
        )

    return router
