"""Lifecycle flows: the list with their runs, a flow's definition, switching one on or off,
and its report against the holdout.

Retain's library of flows is added to the store on first use, disabled, as the command
line does.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from retain.bootstrap import App
from retain.domain.flows import Flow, FlowError
from retain.domain.lift import lift
from retain.flows.reader import flow_to_dict
from retain.runner import install_library, stored_flows
from retain.web.api.common import ApiError, Text, errors, not_found
from retain.web.context import Workspace

FlowName = Annotated[Text, Path(min_length=1, max_length=64, description="The flow's name, e.g. win-back.")]
STATES = ("active", "completed", "exited", "holdout")


class FlowSummary(BaseModel):
    name: str
    title: str
    enabled: bool
    trigger: str = Field(description="What starts it: event, segment, date, score or schedule.")
    active: int = Field(description="Runs under way.")
    completed: int
    exited: int
    holdout: int = Field(description="Entrants held back to measure the flow against.")


class FlowDetail(BaseModel):
    name: str
    enabled: bool
    definition: dict[str, Any] = Field(description="The flow document, as `retain flows show` prints it.")


class Arm(BaseModel):
    customers: int
    conversion: float
    orders_per_customer: float
    revenue_per_customer: float = Field(description="Minor units.")


class Difference(BaseModel):
    value: float
    low: float = Field(description="Lower end of the 95% interval.")
    high: float


class FlowReport(BaseModel):
    flow: str
    window_days: int
    runs: dict[str, int] = Field(description="Runs by state.")
    skipped_by_cap: int = Field(description="Messages the communication calendar held back.")
    treated: Arm
    holdout: Arm
    conversion: Difference | None = Field(description="Treated minus holdout; null while an arm is empty.")
    orders: Difference | None
    revenue: Difference | None


def flows_of(app: App) -> dict[str, tuple[Flow, bool]]:
    try:
        install_library(app)
        return stored_flows(app)
    except FlowError as exc:  # a stored flow that no longer reads
        raise ApiError(409, "invalid_flow", str(exc)) from None


def summaries(app: App) -> list[dict[str, Any]]:
    found = flows_of(app)
    with app.unit_of_work() as uow:
        counts = uow.flows.counts()
    return [
        {"name": name, "title": flow.title, "enabled": enabled, "trigger": flow.trigger.kind,
         **{state: counts.get(name, {}).get(state, 0) for state in STATES}}
        for name, (flow, enabled) in sorted(found.items())
    ]  # fmt: skip


def switch(app: App, name: str, enabled: bool) -> dict[str, Any]:
    flow = flows_of(app).get(name)
    if flow is None:
        raise not_found(f"flow {name!r}")
    with app.unit_of_work() as uow:
        uow.flows.set_enabled(name, enabled, app.now())
        uow.commit()
    return {"name": name, "enabled": enabled, "definition": flow_to_dict(flow[0])}


def report(app: App, name: str, window_days: int) -> dict[str, Any]:
    if name not in flows_of(app):
        raise not_found(f"flow {name!r}")
    with app.unit_of_work() as uow:
        found = lift(uow.flows.entries(name), uow.flows.orders_of_entrants(name), timedelta(days=window_days))
        runs, capped = uow.flows.counts().get(name, {}), uow.flows.skipped_by_cap().get(name, 0)
    return {"flow": name, "runs": runs, "skipped_by_cap": capped, **asdict(found)}


def flow_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(prefix="/flows", tags=["flows"])
    read, marketing = Depends(ws.auth.need("read")), Depends(ws.auth.need("marketing"))

    @router.get("", response_model=list[FlowSummary], responses=errors(409), dependencies=[read])
    async def list_flows() -> list[dict[str, Any]]:
        """The store's flows with their runs by state."""
        return await run_in_threadpool(summaries, ws.app)

    @router.get("/{name}", response_model=FlowDetail, responses=errors(404, 409), dependencies=[read])
    async def get_flow(name: FlowName) -> dict[str, Any]:
        """A flow's document and whether it runs."""
        found = (await run_in_threadpool(flows_of, ws.app)).get(name)
        if found is None:
            raise not_found(f"flow {name!r}")
        return {"name": name, "enabled": found[1], "definition": flow_to_dict(found[0])}

    @router.post(
        "/{name}/enable", response_model=FlowDetail, responses=errors(404, 409), dependencies=[marketing]
    )
    async def enable(name: FlowName) -> dict[str, Any]:
        """Start running the flow, from the worker's next round."""
        return await run_in_threadpool(switch, ws.app, name, True)

    @router.post(
        "/{name}/disable", response_model=FlowDetail, responses=errors(404, 409), dependencies=[marketing]
    )
    async def disable(name: FlowName) -> dict[str, Any]:
        """Stop the flow: nobody new enters, and runs under way pause until it is enabled."""
        return await run_in_threadpool(switch, ws.app, name, False)

    @router.get("/{name}/report", response_model=FlowReport, responses=errors(404, 409), dependencies=[read])
    async def flow_report(
        name: FlowName,
        window_days: Annotated[
            int, Query(ge=1, le=365, description="Days after entering in which orders count.")
        ] = 30,
    ) -> dict[str, Any]:
        """Treated entrants against the holdout: conversion, orders and revenue per customer
        and their differences with 95% intervals."""
        return await run_in_threadpool(report, ws.app, name, window_days)

    return router
