"""Customers: a search over the store's customers, and one customer's whole story (the 360
view: profile and consent, orders, messages, points, prediction, segments, what they said
and their tickets)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from retain.store import api_queries
from retain.web.api.common import (
    MAX_ID,
    Cursor,
    CustomerId,
    Limit,
    Page,
    Text,
    decode_cursor,
    errors,
    not_found,
    page_of,
)
from retain.web.api.orders import numbered
from retain.web.api.schemas import Customer, CustomerView, Prediction
from retain.web.context import Workspace

FEEDBACK = 20


def customer_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/customers", tags=["customers"], dependencies=[Depends(ws.auth.need("read"))])

    @router.get("", response_model=Page[Customer], responses=errors())
    def list_customers(
        request: Request,
        q: Annotated[
            Text | None, Query(min_length=1, max_length=200, description="Part of the e-mail or name.")
        ] = None,
        segment: Annotated[
            Text | None, Query(max_length=300, description='A stored segment, e.g. "rfm:Champions".')
        ] = None,
        min_orders: Annotated[
            int | None, Query(ge=0, le=MAX_ID, description="At least this many orders.")
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Customers in the order they were created, with their order count."""
        with ws.app.engine.connect() as connection:
            found = api_queries.customers_page(
                connection,
                q=q,
                segment=segment,
                min_orders=min_orders,
                after=decode_cursor(cursor),
                limit=limit,
            )
        return page_of(request, found.rows, found)

    @router.get("/{customer_id}", response_model=CustomerView, responses=errors(404))
    async def customer(customer_id: CustomerId) -> dict[str, Any]:
        """The 360 view: profile and consent, the latest orders and messages, points,
        prediction, segments, feedback and tickets."""
        return await run_in_threadpool(view, ws, customer_id)

    @router.get("/{customer_id}/prediction", response_model=Prediction, responses=errors(404))
    def prediction(customer_id: CustomerId) -> dict[str, Any]:
        """The customer's latest scores: P(alive), churn, expected orders and CLV."""
        with ws.app.engine.connect() as connection:
            found = api_queries.score_of(connection, customer_id)
            if found is None and not api_queries.customer_exists(connection, customer_id):
                raise not_found(f"customer {customer_id}")
        if found is None:
            raise not_found(f"prediction for customer {customer_id}: run `retain predict`")
        return found

    return router


def view(ws: Workspace, customer_id: int) -> dict[str, Any]:
    """The customer's 360 view, read in one transaction."""
    with ws.app.unit_of_work() as uow:
        connection = uow.connection
        profile = api_queries.customer_profile(connection, customer_id)
        if profile is None:
            raise not_found(f"customer {customer_id}")
        account = uow.loyalty.account(customer_id)
        return {
            "profile": profile,
            "orders": [numbered(o) for o in api_queries.recent_orders(connection, customer_id)],
            "messages": api_queries.recent_messages(connection, customer_id),
            "loyalty": account,
            "prediction": api_queries.score_of(connection, customer_id),
            "segments": api_queries.segments_of(connection, customer_id),
            "feedback": uow.feedback.listed(customer_id=customer_id, limit=FEEDBACK),
            "tickets": uow.feedback.tickets(customer_id=customer_id),
        }
