"""The overview page: are we keeping our customers? The year's retention figures with their
monthly trends, revenue from new and returning customers, predicted value, and the alerts
that need someone today (valuable customers slipping away, overdue tickets).

Figures come from the kept aggregates (``retain.analytics.insight_cache``); only the alerts'
names and the overdue count are read per request, each through an index.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from retain.domain.money import format_money
from retain.domain.summary import StoreSummary
from retain.store.customer_view import names
from retain.web.auth import Principal, safe_next
from retain.web.context import Workspace
from retain.web.dashboard.charts import sparkline, stacked_bars
from retain.web.dashboard.figures import computed_at, kept, refresh_quietly

# (key, label, what it is, format)
TILES = (
    ("retention_rate", "Retention rate", "(E − N) / S over the last 12 months", "rate"),
    ("churn_rate", "Churn rate", "1 − retention rate", "rate"),
    ("repeat_purchase_rate", "Repeat purchase rate", "customers with 2+ orders", "rate"),
    ("average_order_value", "Average order value", "net of refunds", "money"),
    ("historical_clv", "Customer lifetime value", "order value × orders a year × lifespan", "money"),
)


def _summary(figures: dict[str, Any]) -> StoreSummary:
    s = figures["summary"]
    return StoreSummary(
        customers=s.get("customers", 0), orders=s["orders"], revenue=s["revenue"],
        first_order_at=s["first_order_at"] and datetime.fromisoformat(s["first_order_at"]),
        last_order_at=s["last_order_at"] and datetime.fromisoformat(s["last_order_at"]),
    )  # fmt: skip


def _say(kind: str, currency: str) -> Any:
    if kind == "rate":
        return lambda v: f"{v:.1%}"
    return lambda v: format_money(round(v), currency)


def tiles(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Each headline figure with its monthly sparkline."""
    currency, year, months = figures["currency"], figures["year"], figures["months"]
    labels = [m["month"] for m in months]
    found = []
    for key, label, hint, kind in TILES:
        say = _say(kind, currency)
        value = year[key]
        found.append(
            {"key": key.replace("_", "-"), "label": label, "hint": hint,
             "value": "n/a" if value is None else say(value),
             "spark": sparkline([m[key] for m in months], labels, say, f"{label} by month")}
        )  # fmt: skip
    nps = figures["nps"]
    found.append(
        {"key": "nps", "label": "Net Promoter Score",
         "hint": f"{nps['responses']:,} answers in the last 12 months",
         "value": "n/a" if nps["score"] is None else f"{nps['score']:+.0f}",
         "spark": sparkline([m["score"] for m in nps["months"]], [m["month"] for m in nps["months"]],
                            lambda v: f"{v:+.0f}", "NPS by month")}
    )  # fmt: skip
    return found


def revenue_split(figures: dict[str, Any]) -> dict[str, Any]:
    currency, year, months = figures["currency"], figures["year"], figures["months"]
    total = year["revenue_new"] + year["revenue_returning"]
    chart = stacked_bars(
        [m["month"] for m in months],
        [
            ("new", [m["revenue_new"] for m in months]),
            ("returning", [m["revenue_returning"] for m in months]),
        ],
        lambda v: format_money(v, currency),
        "Revenue by month from new and returning customers",
    )
    return {
        "new": format_money(year["revenue_new"], currency),
        "returning": format_money(year["revenue_returning"], currency),
        "new_share": year["revenue_new"] / total if total else None,
        "chart": chart,
    }


def alerts(ws: Workspace, figures: dict[str, Any]) -> dict[str, Any]:
    with ws.app.unit_of_work() as uow:
        overdue = uow.feedback.overdue_count(ws.app.now())
        warning = figures.get("scores", {}).get("warning")
        people = names(uow.connection, [w["customer_id"] for w in warning["top"]]) if warning else {}
    if not warning:
        return {"overdue": overdue, "warning": None}
    currency = figures["currency"]
    top = []
    for w in warning["top"]:
        person = people.get(w["customer_id"], {})
        name = person.get("name") or person.get("email") or f"Customer {w['customer_id']}"
        top.append(w | {"name": name, "value": format_money(w["predicted_clv"], currency)})
    return {
        "overdue": overdue,
        "warning": warning,
        "top": top,
        "min_clv": format_money(warning["min_clv"], currency),
    }


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def home(
        request: Request, tasks: BackgroundTasks, who: Principal = Depends(ws.auth.need("read"))
    ) -> HTMLResponse:
        figures, updating = kept(ws, "overview", tasks)
        context: dict[str, Any] = {
            "figures": figures, "summary": _summary(figures), "updating": updating,
            "computed_at": computed_at(figures), "alerts": alerts(ws, figures),
        }  # fmt: skip
        if figures["currency"] is not None:
            context |= {"tiles": tiles(figures), "revenue": revenue_split(figures)}
            scores = figures["scores"]
            if scores.get("scored"):
                context["predicted_clv"] = format_money(scores["mean_predicted_clv"], figures["currency"])
        return ws.templates.TemplateResponse(request, "home.html", context)

    @router.post("/figures/refresh")
    async def refresh_figures(
        request: Request, tasks: BackgroundTasks, who: Principal = Depends(ws.auth.need("read"))
    ) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        tasks.add_task(refresh_quietly, ws)
        return RedirectResponse(safe_next(form.get("next", ["/"])[0]), status_code=303)

    return router
