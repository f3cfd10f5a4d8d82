"""The cohorts page: customers grouped by the month (or quarter) of their first order, and the
share of each group ordering in every later period, as a heatmap table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse

from retain.domain.money import format_money
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard.figures import computed_at, kept

SHOWN = 24  # cohorts and periods on the page; `retain cohorts --csv` gives them all


def _colour(value: float, top: float) -> str:
    """A green as strong as ``value`` is against the largest later-period value."""
    strength = 0.0 if top <= 0 else min(value / top, 1.0)
    ink = "#fff" if strength > 0.55 else "inherit"
    return f"background-color: rgba(11, 110, 79, {0.08 + 0.85 * strength:.2f}); color: {ink}"


def heatmap(cohorts: list[dict[str, Any]], metric: str, currency: str) -> dict[str, Any]:
    """Rows of cells (text, style) for the latest cohorts; colours scale on periods 1 and later,
    since period 0 is the whole cohort and would wash them out."""
    rows = cohorts[-SHOWN:]
    key = "retention" if metric == "customers" else "revenue"
    width = min(max((len(r[key]) for r in rows), default=0), SHOWN)
    later = [v for r in rows for v in r[key][1:width]]
    top = max(later, default=0)
    shown = []
    for row in rows:
        cells = []
        for age, value in enumerate(row[key][:width]):
            text = f"{value:.0%}" if metric == "customers" else format_money(int(value), currency)
            cells.append({"age": age, "text": text, "style": _colour(value, top) if age else ""})
        shown.append({"label": row["label"], "size": row["size"], "cells": cells})
    return {"rows": shown, "width": width, "hidden": max(len(cohorts) - SHOWN, 0)}


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/cohorts", response_class=HTMLResponse)
    def cohorts(
        request: Request,
        tasks: BackgroundTasks,
        by: str = "month",
        metric: str = "customers",
        who: Principal = Depends(ws.auth.need("read")),
    ) -> HTMLResponse:
        by = by if by in ("month", "quarter") else "month"
        metric = metric if metric in ("customers", "revenue") else "customers"
        figures, updating = kept(ws, "cohorts", tasks)
        context: dict[str, Any] = {
            "figures": figures, "updating": updating, "computed_at": computed_at(figures),
            "by": by, "metric": metric, "table": None,
        }  # fmt: skip
        if not figures["problem"]:
            context["table"] = heatmap(figures[by], metric, figures["currency"])
        return ws.templates.TemplateResponse(request, "cohorts.html", context)

    return router
