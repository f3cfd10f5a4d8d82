"""Webhook delivery against a real HTTP server: the signed request, retries, refusals, reuse."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from retain import __version__
from retain.domain.messages import MessageError
from retain.domain.notifications import OutgoingNotification
from retain.messaging.webhook import WebhookTransport, sign, verify_signature
from tests.messaging.conftest import HOST, free_port

SECRET = b"whsec-0123456789abcdef"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
STAMP = 1767225600  # NOW in unix seconds


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    port: int  # the client's end of the connection: one per connection


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b'{"ok":true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Receiver:
    """Keeps each request and answers with the next scripted reply, then 200."""

    requests: list[Request] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connections(self) -> int:
        return len({r.port for r in self.requests})


@dataclass(frozen=True)
class Server:
    receiver: Receiver
    url: str


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    receiver: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.receiver.lock:
            self.receiver.requests.append(
                Request("POST", self.path, dict(self.headers.items()), body, self.client_address[1])
            )
            reply = self.receiver.replies.pop(0) if self.receiver.replies else Reply()
        if reply.delay:
            time.sleep(reply.delay)
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):  # a client that gave up waiting
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Server]:
    receiver = Receiver()
    handler = type("BoundHandler", (Handler,), {"receiver": receiver})
    httpd = ThreadingHTTPServer((HOST, 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Server(receiver, f"http://{HOST}:{httpd.server_address[1]}/hooks/retain")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def sms(n: int, to: str | None = None) -> OutgoingNotification:
    return OutgoingNotification(
        f"winback:{n}:sms-1", "sms", to or f"+4477009001{n:02d}", f"We miss you, {n}!", customer_id=n
    )


def webhook(url: str, delays: list[float], **options: Any) -> WebhookTransport:
    """Waits are recorded, not slept; the clock stands still at NOW."""
    return WebhookTransport(url, SECRET, sleep=delays.append, now=lambda: NOW, **options)


def test_the_request_carries_the_message_signed(server: Server) -> None:
    push = OutgoingNotification(
        "winback:7:push-1",
        "push",
        "fcm:tok_ABC-123",
        "Ta café vous attend ☕",
        "Come back",
        "https://shop.example/c",
    )
    with webhook(server.url, []) as transport:
        assert [(r.status, r.code, r.attempts) for r in transport.send([push])] == [("sent", None, 1)]
    [request] = server.receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/retain")
    expected = (
        '{"id":"winback:7:push-1","channel":"push","to":"fcm:tok_ABC-123",'
        '"text":"Ta café vous attend ☕","title":"Come back","url":"https://shop.example/c",'
        '"customer_id":null,"sent_at":"2026-01-01T00:00:00Z"}'
    )
    assert request.body == expected.encode()
    headers = {name.lower(): value for name, value in request.headers.items()}
    digest = hmac.new(SECRET, f"{STAMP}.".encode() + request.body, hashlib.sha256).hexdigest()
    assert headers["content-type"] == "application/json"
    assert headers["content-length"] == str(len(request.body))
    assert headers["idempotency-key"] == "winback:7:push-1"
    assert headers["x-retain-timestamp"] == str(STAMP)
    assert headers["x-retain-signature"] == f"sha256={digest}"
    assert headers["user-agent"] == f"retain/{__version__}"


def test_an_sms_body(server: Server) -> None:
    with webhook(server.url, []) as transport:
        transport.send([sms(3)])
    assert json.loads(server.receiver.requests[0].body) == {
        "id": "winback:3:sms-1",
        "channel": "sms",
        "to": "+447700900103",
        "text": "We miss you, 3!",
        "title": "",
        "url": None,
        "customer_id": 3,
        "sent_at": "2026-01-01T00:00:00Z",
    }


def test_a_receiver_verifies_the_signature(server: Server) -> None:
    with webhook(server.url, []) as transport:
        transport.send([sms(1)])
    [request] = server.receiver.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    stamp, signature, body = headers["x-retain-timestamp"], headers["x-retain-signature"], request.body

    assert verify_signature(SECRET, stamp, body, signature, now=STAMP)
    assert verify_signature(SECRET, stamp, body, signature, now=STAMP + 300)
    assert verify_signature(SECRET, stamp, body, signature, now=STAMP - 300)
    assert not verify_signature(b"another secret", stamp, body, signature, now=STAMP)
    assert not verify_signature(SECRET, stamp, body.replace(b"miss", b"kiss"), signature, now=STAMP)
    assert not verify_signature(SECRET, stamp, body, signature, now=STAMP + 301)  # stale: a replay
    assert not verify_signature(SECRET, stamp, body, signature, now=STAMP - 301)  # from the future
    assert not verify_signature(SECRET, str(STAMP + 1), body, signature, now=STAMP)  # timestamp changed
    assert not verify_signature(SECRET, stamp, body, signature.upper(), now=STAMP)
    assert not verify_signature(SECRET, stamp, body, signature.removeprefix("sha256="), now=STAMP)
    for bad in ("", "-1", "1767225600.5", "１７６７２２５６００"):
        assert not verify_signature(SECRET, bad, body, sign(SECRET, stamp, body), now=STAMP)
    assert not verify_signature(SECRET, stamp, body, "sha256=é", now=STAMP)


def test_a_busy_receiver_is_tried_again_with_growing_waits(server: Server) -> None:
    server.receiver.replies = [Reply(503, b"down"), Reply(503, b"down"), Reply(500, b"oops")]
    delays: list[float] = []
    with webhook(server.url, delays) as transport:
        [result] = transport.send([sms(1)])
    assert (result.status, result.attempts, result.code) == ("sent", 4, None)
    assert delays == [0.5, 1.0, 2.0]
    requests = server.receiver.requests
    assert len(requests) == 4
    assert {r.body for r in requests} == {requests[0].body}  # the same message every time
    assert {r.headers["Idempotency-Key"] for r in requests} == {"winback:1:sms-1"}


def test_retry_after_is_honoured_up_to_a_cap(server: Server) -> None:
    server.receiver.replies = [
        Reply(429, headers={"Retry-After": "7"}),
        Reply(503, headers={"Retry-After": "3600"}),
        Reply(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),  # a date: plain backoff
    ]
    delays: list[float] = []
    with webhook(server.url, delays) as transport:
        [result] = transport.send([sms(1)])
    assert (result.status, result.attempts) == ("sent", 4)
    assert delays == [7.0, 30.0, 2.0]


def test_a_receiver_still_failing_after_the_last_try(server: Server) -> None:
    server.receiver.replies = [Reply(500, b"boom")] * 2
    delays: list[float] = []
    with webhook(server.url, delays, attempts=2) as transport:
        results = transport.send([sms(1), sms(2)])
    assert [(r.key, r.status, r.code, r.attempts) for r in results] == [
        ("winback:1:sms-1", "temporary_failure", 500, 2),
        ("winback:2:sms-1", "sent", None, 1),  # a 500 may be this message's alone
    ]
    assert results[0].detail == "500 Internal Server Error: boom"
    assert delays == [0.5]


def test_an_overloaded_receiver_stops_the_batch(server: Server) -> None:
    server.receiver.replies = [Reply(503)] * 2
    delays: list[float] = []
    with webhook(server.url, delays, attempts=2) as transport:
        results = transport.send([sms(1), sms(2, to="n/a"), sms(3)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("temporary_failure", 503, 2),
        ("skipped", None, 0),
        ("temporary_failure", 503, 0),
    ]
    assert len(server.receiver.requests) == 2


def test_a_refused_message_fails_for_good_without_a_retry(server: Server) -> None:
    reason = "invalid number: " + "x" * 300
    server.receiver.replies = [Reply(400, reason.encode())]
    delays: list[float] = []
    with webhook(server.url, delays) as transport:
        results = transport.send([sms(1), sms(2)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("permanent_failure", 400, 1),
        ("sent", None, 1),
    ]
    assert results[0].address == "+447700900101"
    assert results[0].detail == f"400 Bad Request: {reason[:200]}"
    assert delays == []
    assert len(server.receiver.requests) == 2


@pytest.mark.parametrize("status", [401, 403, 404, 301])
def test_a_misconfigured_webhook_suppresses_nobody(server: Server, status: int) -> None:
    server.receiver.replies = [Reply(status, b"no", {"Location": "https://elsewhere.example/"})]
    delays: list[float] = []
    with webhook(server.url, delays) as transport:
        results = transport.send([sms(1), sms(2)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("temporary_failure", status, 1),
        ("temporary_failure", status, 0),
    ]
    assert delays == []
    assert len(server.receiver.requests) == 1


def test_an_unreachable_receiver_is_retried_then_the_batch_stops() -> None:
    url = f"http://{HOST}:{free_port()}/hooks"  # nothing listens there
    delays: list[float] = []
    with webhook(url, delays) as transport:
        results = transport.send([sms(1), sms(2)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("temporary_failure", None, 4),
        ("temporary_failure", None, 0),
    ]
    assert results[0].detail
    assert delays == [0.5, 1.0, 2.0]


def test_a_receiver_too_slow_to_answer(server: Server) -> None:
    server.receiver.replies = [Reply(delay=0.5), Reply(delay=0.5)]
    delays: list[float] = []
    with webhook(server.url, delays, attempts=2, timeout=0.1) as transport:
        [result] = transport.send([sms(1)])
    assert (result.status, result.attempts) == ("temporary_failure", 2)
    assert delays == [0.5]


def test_recipients_without_a_number_or_token_make_no_request(server: Server) -> None:
    messages = [
        sms(1, to="07700 900123"),
        OutgoingNotification("k:2", "sms", None, "hi"),
        OutgoingNotification("k:3", "push", "", "hi"),
        OutgoingNotification("k:4", "push", "tok en", "hi"),
    ]
    with webhook(server.url, []) as transport:
        results = transport.send(messages)
    assert [(r.status, r.detail, r.attempts) for r in results] == [
        ("skipped", "not an E.164 phone number (like +447700900123)", 0),
        ("skipped", "no phone number", 0),
        ("skipped", "no device token", 0),
        ("skipped", "not a valid device token", 0),
    ]
    assert server.receiver.requests == []


def test_many_messages_go_over_one_connection(server: Server) -> None:
    with webhook(server.url, []) as transport:
        results = transport.send([sms(n) for n in range(1, 6)])
        results += transport.send([sms(6)])
    assert [(r.key, r.status) for r in results] == [(f"winback:{n}:sms-1", "sent") for n in range(1, 7)]
    assert len(server.receiver.requests) == 6
    assert server.receiver.connections() == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"key": " "}, "key: must not be empty"),
        ({"key": "a\r\nX-Evil: 1"}, "key: must be printable ASCII on one line"),
        ({"key": "k" * 256}, "key: longer than 255"),
        ({"channel": "email"}, "channel: must be sms or push"),
        ({"text": ""}, "text: must not be empty"),
        ({"text": "x" * 613}, "text: longer than 612 characters for sms"),
        ({"channel": "push", "text": "x" * 241}, "text: longer than 240 characters for push"),
        ({"title": "Hi"}, "title: only push notifications"),
        ({"url": "https://shop.example/"}, "url: only push notifications"),
        ({"channel": "push", "title": "a\nb"}, "title: must be a single line"),
        ({"channel": "push", "url": "http://shop.example/"}, "url: must be an https:// link"),
        ({"channel": "push", "url": "javascript:alert(1)"}, "url: must be an https:// link"),
        ({"channel": "push", "url": "https://"}, "url: must be an https:// link"),
        ({"channel": "push", "url": "https://shop.example/a b"}, "url: must be ASCII"),
    ],
)
def test_what_the_store_gets_wrong_is_refused(fields: dict[str, Any], error: str) -> None:
    values: dict[str, Any] = {"key": "winback:1:sms-1", "channel": "sms", "to": "+447700900123", "text": "hi"}
    with pytest.raises(MessageError, match=f"^{error}"):
        OutgoingNotification(**(values | fields))


def test_the_longest_texts_allowed() -> None:
    assert OutgoingNotification("k", "sms", "+447700900123", "x" * 612).skip_reason() is None
    push = OutgoingNotification("k", "push", "tok", "x" * 240, "Title", "https://shop.example/c?x=1")
    assert push.skip_reason() is None


@pytest.mark.parametrize(
    "url",
    [
        "http://shop.example/hook",
        "ftp://shop.example/hook",
        "shop.example/hook",
        "https:///hook",
        "http://[::1",
    ],
)
def test_a_webhook_url_must_be_https(url: str) -> None:
    with pytest.raises(MessageError, match=r"^webhook url:"):
        WebhookTransport(url, SECRET)


def test_local_http_urls_and_secrets() -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://localhost/hook", "https://hooks.example/retain"):
        WebhookTransport(url, SECRET).close()
    with pytest.raises(MessageError, match=r"^webhook secret: must not be empty"):
        WebhookTransport("https://hooks.example/retain", b"")
