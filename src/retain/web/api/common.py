"""What every endpoint of the JSON API shares: the error object, pages and their cursors,
the bounds on what a request may send, and the error responses each operation documents.

A list answers one page, ``{"items": [...], "next_cursor": ..., "next": ...}``; passing
``next_cursor`` back as ``cursor`` (or following ``next``) gives the page after it, until
``next_cursor`` is null. Cursors are opaque: they name the last row seen, so pages never
repeat or skip a row while data changes.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, date, datetime
from types import UnionType
from typing import Annotated, Any, Generic, TypeVar, Union, get_args, get_origin
from urllib.parse import urlencode

from fastapi import Path, Query, Request
from fastapi import params as fastapi_params
from fastapi.dependencies.utils import get_flat_params
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, Strict

from retain.store.api_queries import Slice

MAX_ID = 2**31 - 1  # the largest id an integer column holds on every database
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_PREFIX = "after:"
T = TypeVar("T")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(description="Where the problem is: body, query or path, then the field.")
    message: str
    type: str


class ErrorBody(BaseModel):
    code: str = Field(description="A stable word for programs: not_found, invalid_request, forbidden...")
    message: str = Field(description="What went wrong, for people.")
    details: list[ErrorDetail] | None = Field(None, description="One entry per invalid field.")


class ErrorResponse(BaseModel):
    """Every error under /api: one object, whatever the status."""

    error: ErrorBody


class ApiError(Exception):
    """Raised by an endpoint; answered as the error object with ``status``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what}")


DESCRIPTIONS = {
    400: "The request cannot be carried out as asked.",
    401: "No credentials, or ones that are not valid (a revoked key, an expired session).",
    403: "The credentials do not allow this, or a browser request lacks its CSRF token.",
    404: "Nothing with this id or name.",
    409: "The request conflicts with the current state.",
    413: "The request body is too large.",
    422: "A parameter or the body is invalid; ``details`` names each field at fault.",
}


def errors(
    *statuses: int, known: tuple[type[BaseModel], str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation: the error object under each status, and with
    ``known`` the 200 of a write that found its work done already (the model and why)."""
    shown = sorted({401, 403, 422, *statuses})
    found: dict[int | str, dict[str, Any]] = {}
    if known is not None:
        found[200] = {"model": known[0], "description": known[1]}
    return found | {status: {"model": ErrorResponse, "description": DESCRIPTIONS[status]} for status in shown}


def _plain(text: str) -> str:
    """Text a database can keep: no NUL character, no unpaired surrogate."""
    if "\x00" in text:
        raise ValueError("the text contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text is not valid Unicode") from None
    return text


Text = Annotated[str, AfterValidator(_plain)]


def _instant(value: datetime) -> datetime:
    """UTC, a time without an offset taken as UTC; years 1900 to 2200, so nothing overflows."""
    try:
        utc = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None
    if not 1900 <= utc.year <= 2200:
        raise ValueError("the time is out of range: years 1900 to 2200")
    return utc


def _iso(pattern: str, example: str) -> Any:
    """Only text in ISO 8601 (or a value already parsed): never a number read as a timestamp."""
    shape = re.compile(pattern)

    def check(value: object) -> object:
        if isinstance(value, date) or (isinstance(value, str) and shape.fullmatch(value)):
            return value
        raise ValueError(f"write it in ISO 8601, like {example}")

    return BeforeValidator(check)


def _flag(value: object) -> object:
    if isinstance(value, bool) or value in ("true", "false"):
        return value
    raise ValueError("true or false")


Instant = Annotated[
    datetime, _iso(r"\d{4}-\d{2}-\d{2}([T ].*)?", "2026-03-01T09:30:00Z"), AfterValidator(_instant)
]
Day = Annotated[date, _iso(r"\d{4}-\d{2}-\d{2}", "2026-03-01")]
Flag = Annotated[bool, BeforeValidator(_flag)]
Int = Annotated[int, Strict()]  # in a body: 3, never "3" or true
MAX_DEPTH = 8


def plain_json(value: object, depth: int = 0) -> object:
    """JSON a database keeps as sent: plain text in every string, nested at most 8 deep."""
    if depth > MAX_DEPTH:
        raise ValueError(f"nested more than {MAX_DEPTH} deep")
    if isinstance(value, str):
        return _plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    if isinstance(value, dict):
        return {_plain(str(k)): plain_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v, depth + 1) for v in value]
    return value


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page; null on the last.")
    next: str | None = Field(description="The address of the next page; null on the last.")


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="How many items a page holds.")]
Cursor = Annotated[
    str | None,
    Query(max_length=64, description="The ``next_cursor`` of the page before; none for the first page."),
]
CustomerId = Annotated[int, Path(ge=1, le=MAX_ID, description="Retain's id of the customer.")]
CustomerFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this customer's.")]


def encode_cursor(last: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{last}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The id a cursor names; a cursor this API did not make is refused."""
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    number = text.removeprefix(CURSOR_PREFIX)
    if not text.startswith(CURSOR_PREFIX) or not number.isdigit() or len(number) > 10:
        raise ApiError(422, "invalid_cursor", "the cursor is not one this API gave out")
    return int(number)


def page_of(request: Request, items: list[Any], found: Slice, key: str = "id") -> dict[str, Any]:
    """A page's body: its items and, when more follow, the cursor and address of the next."""
    if not found.more or not found.rows:
        return {"items": items, "next_cursor": None, "next": None}
    cursor = encode_cursor(int(found.rows[-1][key]))
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"] + [("cursor", cursor)]
    return {"items": items, "next_cursor": cursor, "next": f"{request.url.path}?{urlencode(query)}"}


def sliced(rows: list[dict[str, Any]], after: int | None, limit: int, key: str = "id") -> Slice:
    """A page of rows already in memory, sorted by ``key``."""
    rest = [row for row in rows if after is None or row[key] > after]
    return Slice(rest[:limit], len(rest) > limit)


def _is_list(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (Union, UnionType, Annotated):
        return any(_is_list(arg) for arg in get_args(annotation))
    return False


_REPEATABLE: dict[int, frozenset[str]] = {}


async def one_value_each(request: Request) -> None:
    """Refuse a query parameter given twice unless it is a list (``?status=open&status=pending``):
    taking the last of two values would answer a question nobody asked."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    if id(route) not in _REPEATABLE:
        _REPEATABLE[id(route)] = frozenset(
            p.alias
            for p in get_flat_params(dependant)
            if isinstance(p.field_info, fastapi_params.Query) and _is_list(p.field_info.annotation)
        )
    seen: set[str] = set()
    for key, _ in request.query_params.multi_items():
        if key in seen and key not in _REPEATABLE[id(route)]:
            raise ApiError(422, "invalid_request", f"query.{key}: give it once")
        seen.add(key)
