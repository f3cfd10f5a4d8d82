"""What the dashboard's forms share: reading a posted form, the notices a redirect names,
and where messages sent from a page go when no mail server is set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

# Messages sent from the dashboard (a ticket reply, "we fixed it") go through RETAIN_SMTP_URL
# when it is set, else into this folder, the same one `retain worker` uses by default.
OUTBOX = Path("outbox")


@dataclass(frozen=True)
class Form:
    fields: dict[str, list[str]]

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self.fields.get(name, []))

    def number(self, name: str) -> int | None:
        text = self.get(name).strip()
        return int(text) if text.lstrip("-").isdigit() and len(text) < 12 else None

    def values(self) -> dict[str, str]:
        """The first value of every field, to fill a form in again after a refusal."""
        return {name: values[0] for name, values in self.fields.items() if name != "csrf"}


async def read_form(request: Request) -> Form:
    body = (await request.body()).decode("utf-8", "replace")
    return Form(parse_qs(body, keep_blank_values=True))


def back(path: str, done: str) -> RedirectResponse:
    """After a change, the page again (303, so a reload does not post twice), naming the
    notice to show; the notice's text comes from the page's own list, never from the URL."""
    return RedirectResponse(f"{path}?done={done}", status_code=303)


def notice(request: Request, notices: dict[str, str]) -> str | None:
    return notices.get(request.query_params.get("done", ""))


def private(response: HTMLResponse) -> HTMLResponse:
    """A page showing a secret once (a password, an API key): never kept in a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def not_found(templates: Jinja2Templates, request: Request, message: str) -> HTMLResponse:
    return templates.TemplateResponse(request, "missing.html", {"message": message}, status_code=404)
