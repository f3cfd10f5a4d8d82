"""The API's OpenAPI 3.1 document: the operations under /api and the store's webhooks, with
how to authenticate. Served at /api/v1/openapi.json and kept in the repository as
docs/openapi.json (``retain api openapi`` writes it)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import iter_route_contexts

from retain import __version__

DESCRIPTION = """\
The JSON API of a Retain store, versioned under `/api/v1`.

**Authentication.** An integration sends its API key as `Authorization: Bearer rk_...`
(`retain keys create NAME --scope read`); the key's scopes decide what it may do. A signed-in
browser uses its session cookie and sends the session's CSRF token as `X-CSRF-Token` on
every request that changes something. Reading needs `read`; tickets, feedback and action
items need `support`; flows, codes and points need `marketing`; sending orders and events
needs `ingest`.

**Pages.** Lists answer `{"items": [...], "next_cursor": "...", "next": "/api/v1/..."}`: pass
`next_cursor` back as `cursor`, or follow `next`, until it is null. `limit` is 1 to 500.

**Errors.** Every error is `{"error": {"code": "...", "message": "...", "details": [...]}}`;
`code` is stable, `details` lists each invalid field. Request bodies are capped at 1 MiB (413).

**Money** is an integer of the currency's minor unit (cents) beside its `currency`; times are
ISO 8601, in UTC.
"""


def published(path: str) -> bool:
    return path.startswith(("/api/", "/webhooks/"))


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The document, made once per application."""
    cached: dict[str, Any] | None = getattr(app.state, "api_document", None)
    if cached is None:
        routes = [r for r in iter_route_contexts(app.routes) if published(r.path or "")]
        cached = get_openapi(
            title="Retain API", version=__version__, openapi_version="3.1.0", description=DESCRIPTION,
            routes=routes,
        )  # fmt: skip
        app.state.api_document = cached
    return cached


def document_text(app: FastAPI) -> str:
    """The document as the repository keeps it: indented JSON, keys in the order made."""
    return json.dumps(openapi_document(app), indent=2, ensure_ascii=False) + "\n"
