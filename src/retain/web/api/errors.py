"""One error object for everything under /api: an unknown route (404), a method it does not
take (405), invalid parameters or body (422), refusals of the endpoints themselves, and a
failure of ours (500). Pages elsewhere keep FastAPI's own answers.

The details of a 422 name the field and the rule it broke, never the value that was sent:
a body full of customers' addresses is not echoed back, nor kept anywhere.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException

from retain.web.api.common import ApiError
from retain.web.auth import is_api
from retain.web.guard import TooLarge, limit_for

log = logging.getLogger(__name__)
CODES = {
    400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid_request", 429: "too_many_requests",
}  # fmt: skip
MESSAGES = {404: "there is nothing at this address", 405: "this address does not take that method"}


def error(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _failure)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error(exc.status, exc.code, exc.message)


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if not is_api(request):
        return await request_validation_exception_handler(request, exc)
    details = [
        {"loc": [str(part) if not isinstance(part, int) else part for part in problem.get("loc", ())],
         "message": str(problem.get("msg", "invalid")), "type": str(problem.get("type", "invalid"))}
        for problem in exc.errors()
    ]  # fmt: skip
    where = ".".join(str(part) for part in details[0]["loc"]) if details else "the request"
    message = f"{where}: {details[0]['message']}" if details else "the request is invalid"
    return error(422, "invalid_request", message, details)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if isinstance(exc.__cause__, TooLarge):  # a body without a length, cut off by the guard
        return too_large(request.url.path)
    if not is_api(request):
        return await http_exception_handler(request, exc)
    code = CODES.get(exc.status_code, f"http_{exc.status_code}")
    message = MESSAGES.get(exc.status_code) or str(exc.detail)
    response = error(exc.status_code, code, message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def too_large(path: str) -> JSONResponse:
    return error(413, "too_large", f"the request body is over {limit_for(path) // 1024:,} KiB")


async def _failure(request: Request, exc: Exception) -> Response:
    # The type and the endpoint's name only: a database error's message may quote what was
    # sent, and a path may carry a token or an address.
    endpoint = getattr(request.scope.get("route"), "name", None) or "no endpoint"
    log.error("%s in %s %s", type(exc).__name__, request.method, endpoint)
    if not is_api(request):
        return PlainTextResponse("Internal Server Error", status_code=500)
    return error(500, "internal", "something went wrong on our side; it has been logged")
