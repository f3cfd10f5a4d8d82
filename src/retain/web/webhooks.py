"""Webhooks from the store's platform: Shopify's, and a generic signed one for the others.

- ``POST /webhooks/shopify``: the topic in ``X-Shopify-Topic``; signed by Shopify
  (``X-Shopify-Hmac-Sha256``, the base64 HMAC-SHA256 of the raw body, keyed with
  ``RETAIN_SHOPIFY_WEBHOOK_SECRET``); deduplicated on ``X-Shopify-Event-Id`` (else
  ``X-Shopify-Webhook-Id``).
- ``POST /webhooks/orders`` and ``/webhooks/customers``: Retain's own formats, signed as
  Retain signs its outgoing webhooks (``X-Retain-Timestamp``, ``X-Retain-Signature``,
  keyed with ``RETAIN_ORDERS_WEBHOOK_SECRET``); deduplicated on ``Idempotency-Key`` (else
  ``X-Retain-Delivery``).

A delivery is kept before it is applied (``retain.webhooks``); the answer says what became
of it: 200 applied (or a duplicate, or a topic Retain ignores), 202 kept but not applied yet
(it is retried), 422 (generic) or 200 with status ``rejected`` (Shopify, which would
otherwise retry and then drop the subscription) for a payload that can never be applied,
401 for a bad signature (nothing kept), 503 when it could not even be kept. docs/webhooks.md
has the details.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from retain.bootstrap import App
from retain.config import Settings
from retain.messaging.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature
from retain.web.context import Workspace
from retain.web.intake import Intake
from retain.webhooks import RETAIN, SHOPIFY, Incoming, Outcome, delivery_key
from retain.workspace import effective_settings

SECRETS_FOR = 5.0  # seconds a secret read from the settings page is trusted


def webhook_routes(ws: Workspace) -> APIRouter:
    router = APIRouter(tags=["webhooks"])
    intake = Intake(ws.app)
    secrets = Secrets(ws.app, ws.settings)

    @router.post("/webhooks/shopify", responses=_RESPONSES, openapi_extra=_SHOPIFY_REQUEST)
    async def shopify_webhook(request: Request) -> JSONResponse:
        """A Shopify webhook: orders/create, orders/paid, orders/updated, orders/cancelled,
        refunds/create, customers/create or customers/update; other topics are kept and
        ignored."""
        secret = await secrets.get("shopify_webhook_secret")
        if secret is None:
            return _error(403, "webhook_off", "the Shopify webhook is off: set RETAIN_SHOPIFY_WEBHOOK_SECRET")
        body = await request.body()
        if not shopify_signed(secret, body, request.headers.get("X-Shopify-Hmac-Sha256", "")):
            return _error(401, "bad_signature", "bad or missing X-Shopify-Hmac-Sha256")
        topic = request.headers.get("X-Shopify-Topic", "").strip().lower()
        if not topic or len(topic) > 64:
            return _error(400, "no_topic", "missing X-Shopify-Topic")
        given = request.headers.get("X-Shopify-Event-Id") or request.headers.get("X-Shopify-Webhook-Id")
        key = delivery_key(SHOPIFY, topic, body, given)
        return _answer(await intake.deliver(Incoming(SHOPIFY, key, topic, body)), SHOPIFY)

    async def generic(request: Request, topic: str) -> JSONResponse:
        secret = await secrets.get("orders_webhook_secret")
        if secret is None:
            return _error(403, "webhook_off", "the order webhooks are off: set RETAIN_ORDERS_WEBHOOK_SECRET")
        body = await request.body()
        timestamp = request.headers.get(TIMESTAMP_HEADER, "")
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not verify_signature(secret, timestamp, body, signature, now=time.time()):
            return _error(401, "bad_signature", "bad, missing or expired X-Retain-Signature")
        given = request.headers.get("Idempotency-Key") or request.headers.get("X-Retain-Delivery")
        key = delivery_key(RETAIN, topic, body, given)
        return _answer(await intake.deliver(Incoming(RETAIN, key, topic, body)), RETAIN)

    @router.post(
        "/webhooks/orders",
        responses=_RESPONSES | {422: {"description": "Not an order."}},
        openapi_extra=_GENERIC_REQUEST,
    )
    async def order_webhook(request: Request) -> JSONResponse:
        """One order, as ``POST /api/v1/orders`` takes it, signed with the orders secret."""
        return await generic(request, "orders")

    @router.post(
        "/webhooks/customers",
        responses=_RESPONSES | {422: {"description": "Not a customer."}},
        openapi_extra=_GENERIC_REQUEST,
    )
    async def customer_webhook(request: Request) -> JSONResponse:
        """One customer profile, signed with the orders secret."""
        return await generic(request, "customers")

    return router


def shopify_signed(secret: bytes, body: bytes, header: str) -> bool:
    expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


class Secrets:
    """A webhook's secret: the environment's, else the settings page's, read again after a
    few seconds so a secret changed on the page takes effect without a restart."""

    def __init__(self, app: App, settings: Settings) -> None:
        self.app, self.settings = app, settings
        self._read: tuple[float, Settings] | None = None
        self._reading = False

    async def get(self, name: str) -> bytes | None:
        stale = self._read is None or time.monotonic() - self._read[0] > SECRETS_FOR
        if stale and (self._read is None or not self._reading):  # one reader; the rest use the last
            self._reading = True
            try:
                effective = await anyio.to_thread.run_sync(effective_settings, self.app, self.settings)
            finally:
                self._reading = False
            self._read = (time.monotonic(), effective)
        assert self._read is not None
        value = getattr(self._read[1], name, None)
        secret = value.get_secret_value() if value is not None else ""
        return secret.encode() if secret else None


def _answer(outcome: Outcome | None, source: str) -> JSONResponse:
    if outcome is None:
        return _error(503, "unavailable", "the delivery could not be kept; send it again")
    body: dict[str, Any] = {"status": outcome.status, "delivery": outcome.delivery}
    if outcome.status == "rejected":
        body["error"] = {"code": "invalid_payload", "message": outcome.error or "rejected"}
        return JSONResponse(body, status_code=200 if source == SHOPIFY else 422)
    return JSONResponse(body, status_code=202 if outcome.status == "queued" else 200)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _request(*headers: tuple[str, bool, str]) -> dict[str, Any]:
    """The document's account of a body read by hand: its headers, and JSON."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "header",
                "required": required,
                "description": text,
                "schema": {"type": "string"},
            }
            for name, required, text in headers
        ],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
    }


_SHOPIFY_REQUEST = _request(
    ("X-Shopify-Topic", True, "orders/create, refunds/create, customers/update..."),
    ("X-Shopify-Hmac-Sha256", True, "base64 HMAC-SHA256 of the raw body, keyed with the shared secret"),
    ("X-Shopify-Event-Id", False, "the event: copies of one delivery share it"),
    ("X-Shopify-Webhook-Id", False, "the delivery, when there is no event id"),
)
_GENERIC_REQUEST = _request(
    (TIMESTAMP_HEADER, True, "Unix seconds; refused more than five minutes away"),
    (SIGNATURE_HEADER, True, 'sha256=<hex HMAC-SHA256 of the timestamp, ".", and the raw body>'),
    ("Idempotency-Key", False, "the delivery's id, the same on every retry"),
    ("X-Retain-Delivery", False, "the delivery's id, when there is no Idempotency-Key"),
)
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Applied, a duplicate, or a topic Retain ignores."},
    202: {"description": "Kept, not applied yet: it is retried."},
    401: {"description": "Bad or missing signature: nothing was kept."},
    403: {"description": "The webhook is off: no secret is set."},
    413: {"description": "The body is over 4 MiB."},
    503: {"description": "Not kept: send it again."},
}
