"""Analytics: segments (sizes, members, rule segments), retention metrics of a period, the
cohort triangle, and the customers' latest predictions.

Segments, metrics and cohorts are computed on the spot from the store's orders, as the
command line does; predictions are the scores the last ``retain predict`` stored.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from retain.analytics.cohorts import cohort_table
from retain.analytics.engine import Analytics
from retain.analytics.metrics import period_metrics
from retain.analytics.segments import Segmenter
from retain.bootstrap import App
from retain.domain.cohorts import Grain
from retain.domain.conditions import Condition, RuleError, compile_rule
from retain.domain.metrics import DEFAULT_ACTIVITY_WINDOW_DAYS, Period, PeriodError, PeriodMetrics
from retain.domain.segments import CUSTOMER_FIELDS, builtin_segments
from retain.service.segments import define_segment
from retain.store import api_queries
from retain.web.api.common import (
    ApiError,
    Cursor,
    Day,
    Limit,
    Page,
    Text,
    decode_cursor,
    errors,
    not_found,
    page_of,
    plain_json,
    sliced,
)
from retain.web.api.schemas import Prediction
from retain.web.context import Workspace

SegmentName = Annotated[
    Text, Path(min_length=1, max_length=255, description="An RFM segment, a group or a rule.")
]
EARLIEST = date(1970, 1, 1)


class Segment(BaseModel):
    name: str
    kind: str = Field(description="rfm, group or rule.")
    customers: int
    revenue: int = Field(description="Net revenue of its customers, minor units.")
    revenue_share: float


class Member(BaseModel):
    customer_id: int
    recency_score: int
    frequency_score: int
    monetary_score: int
    rfm_segment: str
    group: str


class RuleIn(BaseModel):
    rule: Annotated[dict[str, Any], AfterValidator(plain_json)] = Field(
        description='Conditions as data, e.g. {"all": [{"field": "orders", "op": ">=", "value": 2}]}.'
    )


class RuleResult(BaseModel):
    name: str
    created: bool


class Metrics(BaseModel):
    start: date
    end: date
    activity_window_days: int
    currency: str
    customers_start: int
    customers_end: int
    new_customers: int
    new_customers_active: int
    retention_rate: float | None
    churn_rate: float | None
    cohort_retention: float | None
    orders: int
    revenue: int
    revenue_new_customers: int
    revenue_returning_customers: int
    average_order_value: int | None
    purchase_frequency: float | None
    repeat_purchase_rate: float | None
    repeat_purchase_ratio: float | None
    median_days_between_orders: float | None
    average_lifespan_years: float | None
    historical_clv: int | None
    gross_margin: float | None


class Cohort(BaseModel):
    cohort: str = Field(description="2025-03, or 2025-Q1 by quarter.")
    start: date
    size: int
    customers: list[int] = Field(
        description="Customers of the cohort ordering in each period since the first."
    )
    retention: list[float] = Field(description="Their share of the cohort.")
    revenue: list[int] = Field(description="Their net revenue, minor units.")


class Cohorts(BaseModel):
    by: str
    currency: str
    cohorts: list[Cohort]


def segmenter(app: App) -> tuple[Segmenter, dict[str, Condition]]:
    """Every customer's features as of now, and the store's rule segments compiled."""
    with app.unit_of_work() as uow:
        rules = uow.segments.rules()
    compiled = {name: compile_rule(rule, CUSTOMER_FIELDS) for name, rule in rules.items()}
    try:
        return Segmenter(Analytics.from_store(app.url, scores=True), app.now()), compiled
    except PeriodError as exc:  # no orders yet, or in several currencies
        raise ApiError(409, "no_data", str(exc)) from None


def sizes(app: App) -> list[dict[str, Any]]:
    found, rules = segmenter(app)
    every = found.sizes("rfm") + found.sizes("group")
    every += [found.rule_size(name, rule) for name, rule in rules.items()]
    return [asdict(size) for size in every]


def members(app: App, name: str) -> list[dict[str, Any]]:
    found, rules = segmenter(app)
    kind = builtin_segments().get(name)
    if kind is not None:
        field = "rfm_segment" if kind == "rfm" else "group"
        condition = compile_rule({"field": field, "op": "=", "value": name}, CUSTOMER_FIELDS)
    elif name in rules:
        condition = rules[name]
    else:
        raise not_found(f"segment {name!r}")
    scores = found.scores()
    columns = ("recency_score", "frequency_score", "monetary_score", "rfm_segment", "group")
    return [
        {"customer_id": c, **dict(zip(columns, scores[c], strict=True))} for c in found.members(condition)
    ]


def analytics_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(tags=["analytics"])
    read = Depends(ws.auth.need("read"))

    @router.get("/segments", response_model=list[Segment], responses=errors(409), dependencies=[read])
    async def list_segments() -> list[dict[str, Any]]:
        """Every segment with its size and share of revenue, as of now: the RFM segments, the
        loyal / underperforming / non-active groups and the store's rule segments."""
        return await run_in_threadpool(sizes, ws.app)

    @router.get(
        "/segments/{name}/members",
        response_model=Page[Member],
        responses=errors(404, 409),
        dependencies=[read],
    )
    async def segment_members(
        request: Request, name: SegmentName, limit: Limit = 50, cursor: Cursor = None
    ) -> dict[str, Any]:
        """The members of one segment as of now, by customer id, with their RFM scores."""
        after = decode_cursor(cursor)
        rows = await run_in_threadpool(members, ws.app, name)
        found = sliced(rows, after, limit, "customer_id")
        return page_of(request, found.rows, found, "customer_id")

    @router.put(
        "/segments/{name}",
        status_code=201,
        response_model=RuleResult,
        responses=errors(400, 413, known=(RuleResult, "The rule segment was replaced.")),
        dependencies=[Depends(ws.auth.need("marketing"))],
    )
    def define(name: SegmentName, body: Annotated[RuleIn, Body()], response: Response) -> dict[str, Any]:
        """Create (201) or replace (200) a rule segment. Fields: orders, revenue,
        average_order_value, days_since_last_order, days_since_first_order, recency_score,
        frequency_score, monetary_score, rfm_segment, group, p_alive, churn_probability,
        predicted_orders, predicted_clv; operators = != > >= < <= in, not in."""
        try:
            created = define_segment(ws.app.unit_of_work(), name, body.rule, ws.app.now())
        except RuleError as exc:
            raise ApiError(422, "invalid_rule", str(exc)) from None
        response.status_code = 201 if created else 200
        return {"name": name, "created": created}

    @router.get("/metrics", response_model=Metrics, responses=errors(409), dependencies=[read])
    async def metrics(
        start: Annotated[Day, Query(description="First day, in the store's time zone.")],
        end: Annotated[Day, Query(description="Last day, included; not in the future.")],
        activity_window: Annotated[
            int,
            Query(ge=1, le=3650, description="Days since the last order within which a customer is active."),
        ] = DEFAULT_ACTIVITY_WINDOW_DAYS,
        margin: Annotated[float | None, Query(gt=0, le=1, description="Gross margin for CLV.")] = None,
    ) -> dict[str, Any]:
        """Retention metrics of the days from start to end: retention and churn rate, repeat
        purchase rate and ratio, average order value, purchase frequency, historical CLV."""
        if start < EARLIEST:
            raise ApiError(422, "invalid_period", f"the start is before {EARLIEST}")
        try:
            period = Period(start, end, ws.settings.store_timezone)
            period.check_not_future(ws.app.now())
        except PeriodError as exc:
            raise ApiError(422, "invalid_period", str(exc)) from None
        chosen = margin or ws.settings.gross_margin
        return await run_in_threadpool(measure, ws.app, period, activity_window, chosen)

    @router.get("/cohorts", response_model=Cohorts, responses=errors(409), dependencies=[read])
    async def cohorts(
        by: Annotated[Grain, Query(description="Cohort and period length.")] = "month",
    ) -> dict[str, Any]:
        """The retention triangle: customers by the month (or quarter) of their first order,
        and how many of each cohort order in every later period."""
        return await run_in_threadpool(triangle, ws, by)

    @router.get("/predictions", response_model=Page[Prediction], responses=errors(), dependencies=[read])
    def predictions(
        request: Request,
        min_churn_probability: Annotated[
            float | None, Query(ge=0, le=1, description="At least this likely to churn.")
        ] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        """Every customer's latest scores (from `retain predict`), by customer id."""
        with ws.app.engine.connect() as connection:
            found = api_queries.scores_page(
                connection,
                min_churn_probability=min_churn_probability,
                after=decode_cursor(cursor),
                limit=limit,
            )
        return page_of(request, found.rows, found, "customer_id")

    return router


def _minor(value: Decimal | None) -> int | None:
    return None if value is None else int(value.quantize(Decimal(1), ROUND_HALF_EVEN))


def measure(app: App, period: Period, window: int, margin: float | None) -> dict[str, Any]:
    try:
        found: PeriodMetrics = period_metrics(Analytics.from_store(app.url), period, window, margin)
    except PeriodError as exc:
        raise ApiError(409, "no_data", str(exc)) from None
    f = found
    return {
        "start": f.period.start, "end": f.period.end, "activity_window_days": f.activity_window_days,
        "currency": f.currency, "customers_start": f.customers_start, "customers_end": f.customers_end,
        "new_customers": f.new_customers, "new_customers_active": f.new_customers_active,
        "retention_rate": f.retention_rate, "churn_rate": f.churn_rate,
        "cohort_retention": f.cohort_retention, "orders": f.orders, "revenue": f.revenue,
        "revenue_new_customers": f.revenue_new, "revenue_returning_customers": f.revenue_returning,
        "average_order_value": _minor(f.average_order_value), "purchase_frequency": f.purchase_frequency,
        "repeat_purchase_rate": f.repeat_purchase_rate, "repeat_purchase_ratio": f.repeat_purchase_ratio,
        "median_days_between_orders": f.median_days_between_orders,
        "average_lifespan_years": f.lifespan_years, "historical_clv": _minor(f.historical_clv),
        "gross_margin": f.gross_margin,
    }  # fmt: skip


def triangle(ws: Workspace, by: Grain) -> dict[str, Any]:
    try:
        table = cohort_table(Analytics.from_store(ws.app.url), by, ws.settings.store_timezone)
    except PeriodError as exc:
        raise ApiError(409, "no_data", str(exc)) from None
    return {
        "by": table.grain,
        "currency": table.currency,
        "cohorts": [
            {
                "cohort": table.label(c.start),
                "start": c.start,
                "size": c.size,
                "customers": list(c.active),
                "retention": list(c.retention),
                "revenue": list(c.revenue),
            }
            for c in table.cohorts
        ],
    }
