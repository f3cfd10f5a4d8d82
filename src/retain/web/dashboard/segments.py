"""The segments page: the RFM grid, every segment's size and value, a segment's members, and
"start a flow for this segment", a one-off send to its members built from the library's
newsletter flow with the segment as its audience."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from retain.analytics.engine import Analytics
from retain.analytics.segments import Segmenter
from retain.domain.conditions import RuleError, compile_rule
from retain.domain.flows import FlowError
from retain.domain.metrics import PeriodError
from retain.domain.money import format_money
from retain.domain.outreach import MARKETING_TOPICS
from retain.domain.segments import CUSTOMER_FIELDS
from retain.mailer import load_templates
from retain.service.segments import refresh_segments
from retain.store.customer_view import last_refreshed, member_count, segment_page
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard.figures import computed_at, kept
from retain.web.dashboard.segment_flow import segment_flow

PAGE = 50
# One colour per RFM segment in the grid, warm for those slipping away.
COLOURS = {
    "Champions": "#0b6e4f", "Loyal": "#2a9d77", "Potential Loyalist": "#7cc4a8", "New": "#a9dcc7",
    "Promising": "#cfeadf", "Need Attention": "#f3d98b", "About to Sleep": "#f0c27b",
    "At Risk": "#e9955e", "Can't Lose Them": "#d9603b", "Hibernating": "#c9ccd3", "Lost": "#9aa0ab",
}  # fmt: skip
DARK = {"Champions", "Loyal", "Can't Lose Them"}


def href(key: str) -> str:
    return "/segments/" + quote(key, safe=":")


def grid(figures: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """Rows of recency 5 to 1, columns of frequency 1 to 5."""
    cells = {(c["recency"], c["frequency"]): c for c in figures["grid"]}
    rows = []
    for recency in range(5, 0, -1):
        row = []
        for frequency in range(1, 6):
            cell = cells.get((recency, frequency))
            name = cell["segment"] if cell else None
            colour = COLOURS.get(name or "", "#fff")
            ink = "#fff" if name in DARK else "inherit"
            row.append(
                {"recency": recency, "frequency": frequency, "segment": name,
                 "customers": cell["customers"] if cell else 0, "href": href(f"rfm:{name}") if name else None,
                 "style": f"background-color: {colour}; color: {ink}"}
            )  # fmt: skip
        rows.append(row)
    return rows


def listed(figures: dict[str, Any]) -> list[dict[str, Any]]:
    currency = figures["currency"]
    found = []
    for s in figures["segments"]:
        clv = s["mean_predicted_clv"]
        found.append(
            s | {"href": href(s["key"]), "revenue_text": format_money(s["revenue"], currency),
                 "clv_text": None if clv is None else format_money(clv, currency)}
        )  # fmt: skip
    return found


def store_members(ws: Workspace) -> int:
    """Store every segment's members as of now (as ``retain segments refresh``); returns how
    many segments were stored. Raises ``PeriodError`` for a store without orders."""
    with ws.app.unit_of_work() as uow:
        rules = uow.segments.rules()
    compiled = {}
    for name, rule in rules.items():
        try:
            compiled[name] = compile_rule(rule, CUSTOMER_FIELDS)
        except RuleError:
            continue
    segmenter = Segmenter(Analytics.from_store(ws.app.url, scores=True), ws.app.now())
    return len(refresh_segments(ws.app.unit_of_work(), segmenter.memberships(compiled), ws.app.now()))


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/segments", response_class=HTMLResponse)
    def segments(
        request: Request, tasks: BackgroundTasks, who: Principal = Depends(ws.auth.need("read"))
    ) -> HTMLResponse:
        figures, updating = kept(ws, "segments", tasks)
        context: dict[str, Any] = {
            "figures": figures,
            "updating": updating,
            "computed_at": computed_at(figures),
        }
        if not figures["problem"]:
            context |= {"grid": grid(figures), "segments": listed(figures),
                        "revenue": format_money(figures["revenue"], figures["currency"])}  # fmt: skip
        return ws.templates.TemplateResponse(request, "segments.html", context)

    def members_page(
        request: Request, tasks: BackgroundTasks, who: Principal, key: str, page: int = 1, status: int = 200,
        **extra: Any,
    ) -> HTMLResponse:  # fmt: skip
        figures, updating = kept(ws, "segments", tasks)
        known = {s["key"]: s for s in listed(figures)} if not figures["problem"] else {}
        if key not in known:
            missing = {"what": "segment", "name": key, "back": "/segments"}
            return ws.templates.TemplateResponse(request, "insight_missing.html", missing, status_code=404)
        page = max(page, 1)
        with ws.app.unit_of_work() as uow:
            people = segment_page(uow.connection, key, (page - 1) * PAGE, PAGE + 1)
            stored, since = member_count(uow.connection, key), last_refreshed(uow.connection)
        for person in people:
            person["clv_text"] = None if person["predicted_clv"] is None else format_money(
                person["predicted_clv"], person["currency"])  # fmt: skip
        templates = load_templates(ws.app).all
        choices = sorted(name for name, t in templates.items() if t.topic in MARKETING_TOPICS)
        context: dict[str, Any] = {
            "segment": known[key], "people": people[:PAGE], "page": page, "more": len(people) > PAGE,
            "stored": stored, "since": since, "updating": updating, "computed_at": computed_at(figures),
            "figures": figures, "can_market": who.can("marketing"), "templates": choices,
            "error": None, "started": request.query_params.get("started"), "form": {}, **extra,
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "segment.html", context, status_code=status)

    @router.get("/segments/{key:path}", response_class=HTMLResponse)
    def members(
        request: Request, key: str, tasks: BackgroundTasks, page: int = 1,
        who: Principal = Depends(ws.auth.need("read")),
    ) -> HTMLResponse:  # fmt: skip
        return members_page(request, tasks, who, key, page)

    @router.post("/segments-flow", response_class=HTMLResponse)
    async def start_flow(
        request: Request, tasks: BackgroundTasks, who: Principal = Depends(ws.auth.need("marketing"))
    ) -> Response:
        form = _form(await request.body())
        key = form.get("segment", "")
        try:
            figures, _ = kept(ws, "segments", tasks)
            if figures["problem"] or key not in {s["key"] for s in figures["segments"]}:
                raise ValueError(f"there is no segment {key!r}")
            at = _when(form.get("at", ""), ws.settings.store_timezone) or ws.app.now()
            templates = set(load_templates(ws.app).all)
            with ws.app.unit_of_work() as uow:
                taken = set(uow.flows.definitions())
            flow = segment_flow(key, form.get("template", ""), at, form.get("title", ""), templates, taken)
            store_members(ws)
            with ws.app.unit_of_work() as uow:
                uow.flows.save(flow.name, flow.document, ws.app.now(), enabled=True)
                uow.commit()
        except (FlowError, PeriodError, ValueError) as exc:
            return members_page(request, tasks, who, key, status=422, error=str(exc), form=form)
        return RedirectResponse(f"{href(key)}?started={quote(flow.name)}", status_code=303)

    @router.post("/segments-members", response_class=HTMLResponse)
    async def refresh_members(
        request: Request, tasks: BackgroundTasks, who: Principal = Depends(ws.auth.need("marketing"))
    ) -> Response:
        key = _form(await request.body()).get("segment", "")
        try:
            store_members(ws)
        except PeriodError as exc:
            return members_page(request, tasks, who, key, status=422, error=str(exc))
        return RedirectResponse(href(key), status_code=303)

    return router


def _when(text: str, timezone: str) -> datetime | None:
    """A time from the form's date-time field, in the store's time zone; None when left empty."""
    if not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time such as 2026-12-01T10:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(timezone))
