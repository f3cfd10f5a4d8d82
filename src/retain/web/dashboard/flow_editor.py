"""The flow editor: a flow's document (YAML, or JSON) in a text box, checked by the same
reader as ``retain flows validate``, each problem shown beside the line it is on. A valid
document is saved as ``retain flows add`` saves it; the text is kept too, comments and all,
so the next edit starts from what the person wrote."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from typing import Any

import yaml
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from retain.bootstrap import App
from retain.documents import DocumentError, line_of, parse
from retain.domain.flows import Flow, FlowError
from retain.flows.reader import FlowReadError, flow_to_dict, library, read_flow
from retain.mailer import load_templates
from retain.web.auth import Principal
from retain.web.context import Workspace
from retain.web.dashboard.forms import back, not_found, read_form

SOURCE_PREFIX = "flow_source:"
MAX_DOCUMENT = 100_000  # characters; a flow is a page or two
STARTER = """\
# A new flow. Every key is explained in the README's "Flows" section; the flows Retain
# ships (on the Flows page) are worked examples.
name: my-flow
title: My flow
description: ""

trigger:
  kind: event
  event: order_placed

steps:
  - id: wait-a-day
    type: wait
    days: 1

  - id: thank-you
    type: send
    template: thank_you

reentry: never
holdout: 0.1
"""


def routes(ws: Workspace) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/flows/new", response_class=HTMLResponse)
    def new_flow(request: Request, who: Principal = Depends(ws.auth.need("marketing"))) -> HTMLResponse:
        return _page(ws, request, None, STARTER)

    @router.post("/flows/new", response_class=HTMLResponse)
    async def create(request: Request, who: Principal = Depends(ws.auth.need("marketing"))) -> Response:
        return await _submit(ws, request, None)

    @router.get("/flows/{name}/edit", response_class=HTMLResponse)
    def edit(request: Request, name: str, who: Principal = Depends(ws.auth.need("marketing"))) -> Response:
        with ws.app.unit_of_work() as uow:
            found = uow.flows.definitions().get(name)
        if found is None:
            return not_found(ws.templates, request, f"There is no flow {name!r}.")
        return _page(ws, request, name, document(ws.app, name, found[0]))

    @router.post("/flows/{name}/edit", response_class=HTMLResponse)
    async def update(
        request: Request, name: str, who: Principal = Depends(ws.auth.need("marketing"))
    ) -> Response:
        with ws.app.unit_of_work() as uow:
            if name not in uow.flows.definitions():
                return not_found(ws.templates, request, f"There is no flow {name!r}.")
        return await _submit(ws, request, name)

    return router


def _page(
    ws: Workspace, request: Request, name: str | None, text: str, problems: list[FlowError] | None = None,
    checked: Flow | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    problems = problems or []
    by_line: dict[int, list[str]] = {}
    general: list[str] = []
    lines = text.splitlines() or [""]
    for problem in problems:
        where = f"{problem.path}: " if problem.path else ""
        if problem.line and 1 <= problem.line <= len(lines):
            by_line.setdefault(problem.line, []).append(where + problem.message)
        else:
            general.append(where + problem.message)
    context = {
        "name": name, "text": text, "lines": lines, "by_line": by_line, "general": general,
        "problems": problems, "checked": checked,
        "action": f"/flows/{name}/edit" if name else "/flows/new", "max_length": MAX_DOCUMENT,
    }  # fmt: skip
    return ws.templates.TemplateResponse(request, "flow_edit.html", context, status_code=status)


async def _submit(ws: Workspace, request: Request, name: str | None) -> Response:
    form = await read_form(request)
    text = form.get("document").replace("\r\n", "\n")
    flow, problems = check(ws.app, text, name)
    if problems:
        return _page(ws, request, name, text, problems)  # 200: checking is the point of the page
    assert flow is not None
    if form.get("intent") == "check":
        return _page(ws, request, name, text, checked=flow)
    with ws.app.unit_of_work() as uow:
        uow.flows.save(flow.name, flow_to_dict(flow), ws.app.now())  # as `retain flows add`
        uow.settings.put(SOURCE_PREFIX + flow.name, {"text": text}, ws.app.now())
        uow.commit()
    return back(f"/flows/{flow.name}", "saved")


def check(app: App, text: str, name: str | None) -> tuple[Flow | None, list[FlowError]]:
    """The flow in ``text``, or every problem with it, each with its line. ``name``: the flow
    being edited, which the document must keep; None for a new flow, whose name must be free."""
    if len(text) > MAX_DOCUMENT:
        return None, [FlowError(f"the document is over {MAX_DOCUMENT:,} characters", "", 1)]
    try:
        flow = read_flow(text, "", templates=set(load_templates(app).all))
    except FlowReadError as exc:
        return None, list(exc.problems)
    except FlowError as exc:
        return None, [exc]
    line = _name_line(text)
    if name is not None and flow.name != name:
        message = f"this page edits the flow {name!r}; to make a flow named {flow.name!r}, use New flow"
        return None, [FlowError(message, "name", line)]
    if name is None:
        with app.unit_of_work() as uow:
            taken = flow.name in uow.flows.definitions()
        if taken:
            return None, [FlowError(f"there is a flow {flow.name!r} already: edit it instead", "name", line)]
    return flow, []


def _name_line(text: str) -> int | None:
    try:
        root, _ = parse(text)
    except DocumentError:
        return None
    return None if root is None else line_of(root, ("name",))


def document(app: App, name: str, stored: dict[str, Any]) -> str:
    """The text to edit: the one last saved here, or the library's file, while it still
    reads as the stored flow (a later `retain flows add` wins); else the flow written out."""
    for text in _candidates(app, name):
        try:
            if flow_to_dict(read_flow(text, name)) == stored:
                return text
        except FlowError:
            continue
    return yaml.safe_dump(stored, sort_keys=False, allow_unicode=True, width=100)


def _candidates(app: App, name: str) -> Iterator[str]:
    with app.unit_of_work() as uow:
        kept = uow.settings.get(SOURCE_PREFIX + name)
    if isinstance(kept, dict) and isinstance(kept.get("text"), str):
        yield kept["text"]
    if name in library():
        yield resources.files("retain.flows").joinpath("library", f"{name}.yaml").read_text(encoding="utf-8")
