"""Listening: the surveys and what they add up to, every piece of feedback, and the action
plan that closes the loop (tickets are ``retain.web.api.tickets``).

Reading needs ``read``; resolving an action item needs ``support``, and is recorded under
the name of whoever did it. Survey answers themselves arrive through POST
/api/v1/surveys/{token}, and platforms' feedback through POST /api/v1/feedback
(``retain.web.feedback``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from retain import listening
from retain.domain.feedback import Category, FeedbackError, Source
from retain.domain.personalization import BrandError
from retain.domain.surveys import SURVEYS, SurveyKind
from retain.mailer import load_brand
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
    sliced,
)
from retain.web.api.schemas import Feedback
from retain.web.auth import Principal
from retain.web.context import Workspace

OUTBOX = Path("outbox")  # where messages go when RETAIN_SMTP_URL is not set, as for `retain worker`
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="The action item's number.")]
Team = Annotated[Text | None, Query(max_length=16, description="One team's queue: support, fulfilment...")]


class Survey(BaseModel):
    kind: str
    question: str
    low: int
    high: int


class Nps(BaseModel):
    score: float | None = Field(description="Promoters minus detractors, -100 to 100; null with no answers.")
    responses: int
    promoters: int
    passives: int
    detractors: int


class Rating(BaseModel):
    mean: float
    answers: int


class Surveys(BaseModel):
    surveys: list[Survey]
    nps: Nps
    nps_by_month: dict[str, Nps]
    nps_by_segment: dict[str, Nps]
    ratings: dict[str, Rating] = Field(description="Mean score of 1 to 5 by survey.")
    categories: dict[str, dict[str, int]] = Field(description="Feedback by category: by sentiment and flags.")
    goodbyes: dict[str, dict[str, int]] = Field(description="Goodbyes by choice and reason.")
    acknowledged: int
    median_acknowledgement_minutes: float | None


class ActionItem(BaseModel):
    id: int
    category: str
    team: str
    status: str
    feedback: int
    customers: int
    notified: int = Field(description="Customers told it was fixed.")
    trend: list[int] = Field(description="Feedback per week, the last 8 weeks, oldest first.")
    quotes: list[str]
    opened_at: datetime
    resolved_at: datetime | None
    note: str | None


class ItemResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Text = Field(
        min_length=1,
        max_length=2_000,
        pattern=r"\S",
        description="What was done; the customers are told this.",
    )


class Closed(BaseModel):
    item_id: int
    told: list[int] = Field(description="Customers the message reached.")
    not_told: list[int] = Field(description="Customers it could not reach (no address, suppressed).")


def survey_report(ws: Workspace, segments: str) -> dict[str, Any]:
    done = service.report(ws.app.unit_of_work, segments)
    return {
        "surveys": [
            {"kind": s.kind, "question": s.question, "low": s.low, "high": s.high} for s in SURVEYS.values()
        ],
        **done.as_dict(),
    }


def resolve_item(ws: Workspace, item_id: int, by: str, note: str) -> dict[str, Any]:
    with ws.app.unit_of_work() as uow:
        item = uow.feedback.item(item_id)
        waiting = uow.feedback.to_notify(item_id) if item is not None else []
    if item is None:
        raise not_found(f"action item {item_id}")
    if item["status"] != "open":
        raise ApiError(409, "conflict", f"action item {item_id} is resolved already")
    try:
        if waiting:
            load_brand(ws.app)  # no brand to send under: refused before the item is touched
        closed = listening.resolve_item(ws.app, item_id, by, note, OUTBOX, ws.settings)
    except BrandError as exc:
        raise ApiError(409, "no_brand", str(exc)) from None
    except FeedbackError as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return {"item_id": item_id, "told": closed.told, "not_told": closed.not_told}


def feedback_routes(ws: Workspace) -> APIRouter:
    router = APIRouter()
    read = Depends(ws.auth.need("read"))
    support = ws.auth.need("support")

    @router.get(
        "/surveys", response_model=Surveys, responses=errors(), dependencies=[read], tags=["feedback"]
    )
    async def surveys(
        segments: Annotated[
            Text, Query(max_length=64, description="NPS by the segments whose names start with this.")
        ] = "rfm:",
    ) -> dict[str, Any]:
        """The surveys, and what the answers add up to: NPS overall, by month and by segment,
        the mean ratings, feedback by category, goodbyes and acknowledgement times."""
        return await run_in_threadpool(survey_report, ws, segments)

    @router.get(
        "/feedback", response_model=Page[Feedback], responses=errors(), dependencies=[read], tags=["feedback"]
    )
    def list_feedback(
        request: Request,
        source: Annotated[Source | None, Query(description="Where it came from.")] = None,
        survey: Annotated[SurveyKind | None, Query(description="Only answers to this survey.")] = None,
        team: Team = None,
        category: Annotated[Category | None, Query(description="Only this category.")] = None,
        customer_id: CustomerFilter = None,
        ticket_id: Annotated[
            int | None, Query(ge=1, le=MAX_ID, description="Only what opened this ticket.")
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Survey answers, reviews, complaints and replies, newest first, with how each was
        read: category, sentiment and the two warning signs."""
        filters = {"source": source, "survey": survey, "team": team, "category": category,
                   "customer_id": customer_id, "ticket_id": ticket_id}  # fmt: skip
        with ws.app.engine.connect() as connection:
            found = api_queries.feedback_page(
                connection, filters=filters, after=decode_cursor(cursor), limit=limit
            )
        return page_of(request, found.rows, found)

    @router.get(
        "/feedback/{feedback_id}",
        response_model=Feedback,
        responses=errors(404),
        dependencies=[read],
        tags=["feedback"],
    )
    def get_feedback(feedback_id: Annotated[int, PathParam(ge=1, le=MAX_ID)]) -> dict[str, Any]:
        with ws.app.engine.connect() as connection:
            found = api_queries.feedback_item(connection, feedback_id)
        if found is None:
            raise not_found(f"feedback {feedback_id}")
        return found

    item_routes(router, ws, read, support)
    return router


def item_routes(router: APIRouter, ws: Workspace, read: Any, support: Any) -> None:
    @router.get(
        "/action-items",
        response_model=Page[ActionItem],
        responses=errors(),
        dependencies=[read],
        tags=["action items"],
    )
    async def list_items(
        request: Request,
        status: Annotated[
            Literal["open", "resolved"] | None, Query(description="open or resolved; both by default.")
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """The action plan: one item per problem, with the feedback and customers behind it,
        how many were told it was fixed, the weekly trend and what customers said."""
        after = decode_cursor(cursor)
        items = await run_in_threadpool(service.action_plan, ws.app.unit_of_work, ws.app.now(), status)
        rows = sorted((asdict(item) for item in items), key=lambda row: row["id"])
        found = sliced(rows, after, limit)
        return page_of(request, found.rows, found)

    @router.get(
        "/action-items/{item_id}",
        response_model=ActionItem,
        responses=errors(404),
        dependencies=[read],
        tags=["action items"],
    )
    async def get_item(item_id: ItemId) -> dict[str, Any]:
        items = await run_in_threadpool(service.action_plan, ws.app.unit_of_work, ws.app.now(), None)
        found = next((item for item in items if item.id == item_id), None)
        if found is None:
            raise not_found(f"action item {item_id}")
        return asdict(found)

    @router.post(
        "/action-items/{item_id}/resolve",
        response_model=Closed,
        responses=errors(400, 404, 409, 413),
        tags=["action items"],
    )
    async def resolve_action(
        item_id: ItemId, body: ItemResolveIn, who: Principal = Depends(support)
    ) -> dict[str, Any]:
        """Resolve the item and tell every customer who raised it what was done, once each."""
        return await run_in_threadpool(resolve_item, ws, item_id, who.name, body.note)
