"""Delivery of SMS and push notifications through a webhook: one signed JSON POST per message.

Retain does not talk to SMS gateways or push services itself. It POSTs each message to a
URL the store runs (or its provider offers), which passes it on. The request::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: winback:42:sms-1
    X-Retain-Timestamp: 1767225600
    X-Retain-Signature: sha256=<64 hex digits>

    {"id":"winback:42:sms-1","channel":"sms","to":"+447700900123","text":"...","title":"",
     "url":null,"customer_id":42,"sent_at":"2026-01-01T00:00:00Z"}

The body is compact UTF-8 JSON. ``id`` (and ``Idempotency-Key``) is the message's key and
stays the same on every retry, so the receiver can drop duplicates; ``sent_at`` is when the
first try was made.

Verifying a request. The signature is the hex HMAC-SHA256, keyed with the shared secret,
of the timestamp header's value, a full stop, and the raw body bytes exactly as received
(before any JSON parsing)::

    expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest("sha256=" + expected, signature_header)

and the timestamp must be within five minutes of the receiver's clock, so a captured
request cannot be replayed later. ``verify_signature`` does both. Each try is signed
afresh, with a new timestamp.

What the receiver's answer means:

- 2xx: the message is taken (``sent``).
- 408, 429, 5xx, or no answer at all (refused, timed out, dropped): tried again after
  0.5, 1, 2... seconds, or after as many seconds as a numeric ``Retry-After`` says (at most
  30); still failing after the last try, it is a ``temporary_failure``. An endpoint that
  stays out of reach, or overloaded (429, 502, 503, 504), makes the rest of the batch come
  back as temporary failures untried, rather than waiting out the backoff once per message.
- 3xx, 401, 403, 404, 405, 407: the webhook itself is misconfigured (moved, wrong secret,
  wrong URL). No other message would pass either, and it is no fault of the recipients, so
  this and the rest of the batch are temporary failures, never permanent ones.
- any other 4xx: the receiver refused this message for good (``permanent_failure``, with
  the status code and the start of the body).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from types import TracebackType
from typing import Literal, Self

import httpx

from retain.domain.messages import DeliveryResult, MessageError
from retain.domain.notifications import OutgoingNotification

SIGNATURE_HEADER = "X-Retain-Signature"
TIMESTAMP_HEADER = "X-Retain-Timestamp"
RETRY_AFTER_CAP = 30.0  # seconds; a longer Retry-After is waited this long
DETAIL_LENGTH = 200
_LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# The webhook is wrong, not the message: every other message would fail the same way.
_MISCONFIGURED = {401, 403, 404, 405, 407}
# Worth another try; with the second set the endpoint as a whole is in trouble.
_TEMPORARY = {408, 429}
_ENDPOINT_DOWN = {429, 502, 503, 504}
_Status = Literal["temporary_failure", "permanent_failure"]


def _version() -> str:
    # Read from the installed package: importing ``retain`` itself would cross the layers.
    try:
        return metadata.version("retain")
    except metadata.PackageNotFoundError:
        return "unknown"


USER_AGENT = f"retain/{_version()}"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Retain-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: bytes, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: int = 300
) -> bool:
    """Whether ``signature`` was made with ``secret`` over ``body`` at ``timestamp``, and
    ``timestamp`` is no more than ``tolerance`` seconds from ``now`` (either way)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = sign(secret, timestamp, body).encode("ascii")
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def check_webhook_url(url: str) -> httpx.URL:
    """``url`` parsed, if it is https (or plain http to this machine, for testing)."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError) as error:
        raise MessageError(f"webhook url: not a valid URL ({error})") from None
    if not parsed.host:
        raise MessageError("webhook url: must be an absolute https:// URL with a host")
    if parsed.scheme == "https":
        return parsed
    if parsed.scheme == "http" and parsed.host in _LOCAL_HOSTS:
        return parsed
    if parsed.scheme == "http":
        raise MessageError(
            "webhook url: must use https:// (plain http:// is allowed only to 127.0.0.1 or localhost)"
        )
    raise MessageError(f"webhook url: must start with https://, not {parsed.scheme or 'nothing'}")


class WebhookTransport:
    """POSTs notifications to one webhook URL, over one keep-alive connection.

    A ``client`` handed in is used as it is (its own timeout, proxies, certificates) and left
    open by ``close``; otherwise the transport makes its own and closes it.
    """

    def __init__(
        self,
        url: str,
        secret: bytes,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        backoff: float = 0.5,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = check_webhook_url(url)
        if not secret:
            raise MessageError("webhook secret: must not be empty")
        if attempts < 1:
            raise ValueError("attempts: must be at least 1")
        if not timeout > 0 or not backoff >= 0:
            raise ValueError("timeout must be above zero and backoff not below it")
        self._secret = secret
        self._attempts = attempts
        self._backoff = backoff
        self._sleep = sleep
        self._now = now or _utc_now
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)

    def send(self, messages: Iterable[OutgoingNotification]) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        stopped: DeliveryResult | None = None
        for message in messages:
            if reason := message.skip_reason():
                results.append(DeliveryResult(message.key, message.to, "skipped", reason))
            elif stopped is not None:
                results.append(replace(stopped, key=message.key, address=message.to, attempts=0))
            else:
                result, stop = self._deliver(message)
                results.append(result)
                stopped = result if stop else None
        return results

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _deliver(self, message: OutgoingNotification) -> tuple[DeliveryResult, bool]:
        """The message's result, and whether the rest of the batch should stop untried."""
        body = _body(message, self._now())
        attempt = 1
        while True:
            failure = self._attempt(message, body)
            if failure is None:
                return DeliveryResult(message.key, message.to, "sent", attempts=attempt), False
            if failure.status == "permanent_failure" or not failure.retry or attempt >= self._attempts:
                return failure.result(message, attempt), failure.stops_batch
            delay = failure.retry_after
            if delay is None:
                delay = self._backoff * 2 ** (attempt - 1)
            self._sleep(delay)
            attempt += 1

    def _attempt(self, message: OutgoingNotification, body: bytes) -> _Failure | None:
        """One try: None when the receiver took the message."""
        timestamp = str(int(self._now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": message.key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
        }
        try:
            response = self._client.post(self.url, content=body, headers=headers)
        except httpx.TransportError as error:
            if _certificate_problem(error):  # no retry will make the certificate trusted
                return _Failure(_describe(error), None, "temporary_failure", retry=False, stops_batch=True)
            return _Failure(_describe(error), None, "temporary_failure", retry=True, stops_batch=True)
        return _answer(response)


class _Failure:
    """One try that failed: what it means for the message, and for the rest of the batch."""

    def __init__(
        self,
        detail: str,
        code: int | None,
        status: _Status,
        *,
        retry: bool,
        stops_batch: bool,
        retry_after: float | None = None,
    ) -> None:
        self.detail = detail
        self.code = code
        self.status = status
        self.retry = retry
        self.stops_batch = stops_batch
        self.retry_after = retry_after

    def result(self, message: OutgoingNotification, attempts: int) -> DeliveryResult:
        return DeliveryResult(message.key, message.to, self.status, self.detail, self.code, attempts)


def _answer(response: httpx.Response) -> _Failure | None:
    code = response.status_code
    if 200 <= code < 300:
        return None
    detail = f"{code} {response.reason_phrase}".strip()
    if text := response.text.strip()[:DETAIL_LENGTH]:
        detail = f"{detail}: {text}"
    if code in _TEMPORARY or code >= 500:
        return _Failure(
            detail,
            code,
            "temporary_failure",
            retry=True,
            stops_batch=code in _ENDPOINT_DOWN,
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
    if code in _MISCONFIGURED or code < 400:
        if location := response.headers.get("Location"):
            detail = f"{detail} (moved to {location[:DETAIL_LENGTH]})"
        return _Failure(detail, code, "temporary_failure", retry=False, stops_batch=True)
    return _Failure(detail, code, "permanent_failure", retry=False, stops_batch=False)


def _body(message: OutgoingNotification, now: datetime) -> bytes:
    payload = {
        "id": message.key,
        "channel": message.channel,
        "to": message.to,
        "text": message.text,
        "title": message.title,
        "url": message.url,
        "customer_id": message.customer_id,
        "sent_at": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a numeric Retry-After, capped; None for a date or nonsense."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, RETRY_AFTER_CAP)


def _certificate_problem(error: BaseException) -> bool:
    cause: BaseException | None = error
    for _ in range(10):  # the chain is short; the bound guards against a loop
        if cause is None:
            return False
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def _describe(error: Exception) -> str:
    return str(error) or type(error).__name__


def _utc_now() -> datetime:
    return datetime.now(UTC)
