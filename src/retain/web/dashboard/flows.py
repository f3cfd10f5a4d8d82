"""The flows pages: every flow, who it reached, and what it earned against its holdout; a
flow's step-by-step funnel; switching flows on and off. The editor and the template
previews live in ``flow_editor`` and ``previews``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retain.domain.flows import Flow, Send
from retain.domain.lift import Difference, Lift, lift
from retain.domain.money import format_money
from retain.runner import install_library, stored_flows
from retain.store.queries import store_currency
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard import flow_editor, previews
from retain.web.dashboard.forms import back, not_found, notice

WINDOW_DAYS = 30
NOTICES = {
    "enabled": "The flow is on: it runs from the worker's next round.",
    "disabled": "The flow is off: nobody new enters, and runs under way pause.",
    "saved": "The flow is saved.",
    "library": "Retain's flows were added, switched off until you turn them on.",
}


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    router.include_router(flow_editor.routes(ws))  # /flows/new before /flows/{name}
    router.include_router(previews.routes(ws))

    @router.get("/flows", response_class=HTMLResponse)
    def flow_status(request: Request, who: Principal = Depends(ws.auth.need("read"))) -> HTMLResponse:
        with ws.app.unit_of_work() as uow:
            definitions = uow.flows.definitions()
            counts, capped = uow.flows.counts(), uow.flows.skipped_by_cap()
            rows = []
            for name in sorted(definitions):
                data, enabled = definitions[name]
                states = counts.get(name, {})
                found = lift(
                    uow.flows.entries(name), uow.flows.orders_of_entrants(name), timedelta(days=WINDOW_DAYS)
                )
                rows.append(
                    {
                        "name": name, "title": data.get("title", name), "enabled": enabled,
                        "entered": sum(states.values()), "active": states.get("active", 0),
                        "completed": states.get("completed", 0), "exited": states.get("exited", 0),
                        "holdout": states.get("holdout", 0), "capped": capped.get(name, 0), "lift": found,
                    }
                )  # fmt: skip
        context = {
            "rows": rows, "window": WINDOW_DAYS, "can_market": who.can("marketing"),
            "notice": notice(request, NOTICES),
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "flows.html", context)

    @router.post("/flows/library")
    def add_library(who: Principal = Depends(ws.auth.need("marketing"))) -> Response:
        install_library(ws.app)
        return back("/flows", "library")

    @router.post("/flows/{name}/enable")
    def enable(request: Request, name: str, who: Principal = Depends(ws.auth.need("marketing"))) -> Response:
        return _switch(ws, request, name, True)

    @router.post("/flows/{name}/disable")
    def disable(request: Request, name: str, who: Principal = Depends(ws.auth.need("marketing"))) -> Response:
        return _switch(ws, request, name, False)

    @router.get("/flows/{name}", response_class=HTMLResponse)
    def flow_page(
        request: Request, name: str, window: int = WINDOW_DAYS, who: Principal = Depends(ws.auth.need("read"))
    ) -> Response:
        window = min(max(window, 1), 365)
        found = stored_flows(ws.app).get(name)
        if found is None:
            return not_found(ws.templates, request, f"There is no flow {name!r}.")
        flow, enabled = found
        with ws.app.unit_of_work() as uow:
            at, done = uow.flows.funnel(name)
            states = uow.flows.counts().get(name, {})
            measured = lift(
                uow.flows.entries(name), uow.flows.orders_of_entrants(name), timedelta(days=window)
            )
        currency = store_currency(ws.app.engine) or "USD"
        context = {
            "flow": flow, "enabled": enabled, "window": window, "states": states,
            "funnel": funnel(flow, at, done, states), "lift": measured,
            "measures": measures(measured, currency), "can_market": who.can("marketing"),
            "notice": notice(request, NOTICES),
        }  # fmt: skip
        return ws.templates.TemplateResponse(request, "flow.html", context)

    return router


def _switch(ws: Workspace, request: Request, name: str, enabled: bool) -> Response:
    """The same change as ``retain flows enable|disable``."""
    with ws.app.unit_of_work() as uow:
        if not uow.flows.set_enabled(name, enabled, ws.app.now()):
            return not_found(ws.templates, request, f"There is no flow {name!r}.")
        uow.commit()
    return back(f"/flows/{name}", "enabled" if enabled else "disabled")


# --- the funnel ------------------------------------------------------------------------------

OUTCOMES = {  # what became of a step's actions, in the order the bar shows them
    "sent": "sent",
    "done": "done",
    "waiting": "waiting to go",
    "capped": "skipped by the calendar",
    "skipped": "skipped (consent, address, topic)",
    "failed": "failed",
}


ACTING = frozenset({"send", "code", "points", "task"})


@dataclass
class Stage:
    """One bar of the funnel: how many runs got this far, and what became of them."""

    label: str
    detail: str
    reached: int
    parts: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, label, count)


def _describe(step: Any) -> str:
    if isinstance(step, Send):
        return f"send {step.template}" + (
            f" with a {step.offer.kind.replace('_', ' ')} offer" if step.offer else ""
        )
    words = {"wait": "wait", "code": "issue a code", "points": "award points", "task": "task for staff",
             "branch": "branch", "wait_for_event": "wait for an event", "exit": "leave"}  # fmt: skip
    return str(words.get(step.type, step.type))


def funnel(
    flow: Flow, at: dict[int, int], done: dict[str, dict[str, int]], states: dict[str, int]
) -> list[Stage]:
    """Runs that entered, were held out, reached each step (are at it or went past it) and
    completed, with each step's outcomes; the bars are drawn against all who entered."""
    treated = sum(at.values())
    stages = [
        Stage("Entered", "every run, treated and held out", treated + states.get("holdout", 0),
              [("treated", "treated", treated), ("holdout", "held out", states.get("holdout", 0))]),
    ]  # fmt: skip
    for position, step in enumerate(flow.steps):
        outcomes = done.get(step.id, {})
        # A step that acts does so once per run that reaches it: exact even where a branch
        # jumped over it. Any other step: the runs at it or past it.
        reached = (
            sum(outcomes.values()) if step.type in ACTING else sum(n for i, n in at.items() if i >= position)
        )
        parts = [(kind, label, outcomes[kind]) for kind, label in OUTCOMES.items() if outcomes.get(kind)]
        stages.append(Stage(f"{position + 1}. {step.id}", _describe(step), reached, parts))
    stages.append(Stage("Completed", "finished every step", states.get("completed", 0)))
    return stages


def measures(found: Lift, currency: str) -> list[dict[str, Any]]:
    """The three differences, treated minus holdout, each formatted and placed on a scale
    that holds its interval and zero."""
    if not (found.conversion and found.orders and found.revenue):
        return []

    def money(value: float) -> str:
        return format_money(round(value), currency)

    def signed_money(value: float) -> str:
        return ("+" if value >= 0 else "-") + money(abs(value))

    rows: list[tuple[str, Difference, Any, Any]] = [
        ("Conversion", found.conversion, "{:+.1%}".format, "{:.1%}".format),
        ("Orders per customer", found.orders, "{:+.3f}".format, "{:.3f}".format),
        ("Revenue per customer", found.revenue, signed_money, money),
    ]
    arms = {
        "Conversion": (found.treated.conversion, found.holdout.conversion),
        "Orders per customer": (found.treated.orders_per_customer, found.holdout.orders_per_customer),
        "Revenue per customer": (found.treated.revenue_per_customer, found.holdout.revenue_per_customer),
    }
    shown = []
    for label, diff, signed, plain in rows:
        reach = max(abs(diff.low), abs(diff.high), abs(diff.value)) * 1.1 or 1.0

        def place(value: float, reach: float = reach) -> float:
            return round(50 + 50 * value / reach, 2)

        treated, held = arms[label]
        shown.append(
            {
                "label": label, "value": signed(diff.value), "low": signed(diff.low),
                "high": signed(diff.high), "treated": plain(treated), "holdout": plain(held),
                "from": place(diff.low), "width": round(place(diff.high) - place(diff.low), 2),
                "at": place(diff.value),
                "verdict": "higher" if diff.low > 0 else "lower" if diff.high < 0 else "no clear difference",
            }
        )  # fmt: skip
    return shown
