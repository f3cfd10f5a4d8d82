"""SMTP delivery against a real server: reuse, TLS, login, retries, refusals, reconnection."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from urllib.parse import quote

import pytest

from retain.messaging.smtp import SmtpTransport, parse_smtp_url
from tests.messaging.conftest import (
    PASSWORD,
    USER,
    Certificates,
    Server,
    check_password,
    free_port,
    outgoing,
)

# aiosmtpd sets its own deprecated attribute on every login.
pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")


def transport(url: str, delays: list[float], context: ssl.SSLContext | None = None) -> SmtpTransport:
    """Waits are recorded, not slept."""
    return SmtpTransport(parse_smtp_url(url), ssl_context=context, sleep=delays.append)


def test_many_messages_go_over_one_connection(server: Server) -> None:
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        results = smtp.send([outgoing(n) for n in range(1, 6)])
        results += smtp.send([outgoing(6)])
    assert [(r.key, r.status, r.attempts) for r in results] == [
        (f"winback:{n}", "sent", 1) for n in range(1, 7)
    ]
    assert [r.recipients for r in server.handler.received] == [
        [f"customer{n}@example.com"] for n in range(1, 7)
    ]
    assert {r.sender for r in server.handler.received} == {"shop@example.com"}
    assert server.handler.connections() == 1
    assert delays == []


def test_starttls_and_login(start_server: Callable[..., Server], certificates: Certificates) -> None:
    server = start_server(
        tls_context=certificates.server, require_starttls=True, authenticator=check_password
    )
    url = f"smtp://{USER}:{quote(PASSWORD, safe='')}@{server.host}:{server.port}?starttls=true"
    with transport(url, [], certificates.client) as smtp:
        assert [r.status for r in smtp.send([outgoing(1), outgoing(2)])] == ["sent", "sent"]
    assert server.handler.connections() == 1


def test_implicit_tls_and_login(start_server: Callable[..., Server], certificates: Certificates) -> None:
    # aiosmtpd sees only STARTTLS as encryption, so it is told that AUTH needs no more here.
    server = start_server(
        ssl_context=certificates.server, authenticator=check_password, auth_require_tls=False
    )
    url = f"smtps://{USER}:{quote(PASSWORD, safe='')}@{server.host}:{server.port}"
    with transport(url, [], certificates.client) as smtp:
        assert [r.status for r in smtp.send([outgoing(1)])] == ["sent"]
    assert len(server.handler.received) == 1


def test_an_untrusted_certificate_stops_the_batch_untried(
    start_server: Callable[..., Server], certificates: Certificates
) -> None:
    server = start_server(tls_context=certificates.server, require_starttls=True)
    delays: list[float] = []
    # The system's CAs do not know the test CA.
    with transport(f"smtp://{server.host}:{server.port}?starttls=true", delays) as smtp:
        results = smtp.send([outgoing(1), outgoing(2)])
    assert [(r.status, r.attempts) for r in results] == [("temporary_failure", 1), ("temporary_failure", 0)]
    assert "CERTIFICATE_VERIFY_FAILED" in results[0].detail
    assert delays == []
    assert server.handler.received == []


def test_a_refused_login_is_no_fault_of_the_recipients(
    start_server: Callable[..., Server], certificates: Certificates
) -> None:
    server = start_server(
        tls_context=certificates.server, require_starttls=True, authenticator=check_password
    )
    delays: list[float] = []
    url = f"smtp://{USER}:wrong@{server.host}:{server.port}?starttls=true"
    with transport(url, delays, certificates.client) as smtp:
        results = smtp.send([outgoing(1), outgoing(2)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("temporary_failure", 535, 1),
        ("temporary_failure", 535, 0),
    ]
    assert delays == []


def test_busy_replies_are_retried_with_growing_waits(server: Server) -> None:
    server.handler.busy = 2
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        [result] = smtp.send([outgoing(1)])
    assert (result.status, result.attempts) == ("sent", 3)
    assert delays == [1.0, 2.0]
    assert len(server.handler.received) == 1
    assert server.handler.connections() == 1


def test_a_server_busy_for_too_long_leaves_the_message_for_later(server: Server) -> None:
    server.handler.busy = 4
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        results = smtp.send([outgoing(1), outgoing(2)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("temporary_failure", 451, 4),
        ("sent", None, 1),
    ]
    assert "try again later" in results[0].detail
    assert delays == [1.0, 2.0, 4.0]


def test_an_unknown_recipient_is_a_permanent_failure_not_retried(server: Server) -> None:
    server.handler.unknown = {"customer2@example.com"}
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        results = smtp.send([outgoing(1), outgoing(2), outgoing(3)])
    assert [r.status for r in results] == ["sent", "permanent_failure", "sent"]
    refused = results[1]
    assert (refused.address, refused.code, refused.attempts) == ("customer2@example.com", 550, 1)
    assert "No such user" in refused.detail
    assert delays == []
    assert [r.recipients for r in server.handler.received] == [
        ["customer1@example.com"],
        ["customer3@example.com"],
    ]
    assert server.handler.connections() == 1


def test_refused_content_is_a_permanent_failure_of_that_message(server: Server) -> None:
    server.handler.spam = "Free money"
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        results = smtp.send([outgoing(1, subject="Free money"), outgoing(2)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("permanent_failure", 554, 1),
        ("sent", None, 1),
    ]
    assert delays == []
    assert server.handler.connections() == 1


def test_a_refused_sender_is_no_fault_of_the_recipients(server: Server) -> None:
    server.handler.sender_banned = True
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        results = smtp.send([outgoing(1), outgoing(2)])
    assert [(r.status, r.code, r.attempts) for r in results] == [
        ("temporary_failure", 550, 1),
        ("temporary_failure", 550, 0),
    ]
    assert "not allowed to relay" in results[1].detail
    assert delays == []


def test_a_dropped_connection_is_reopened(server: Server) -> None:
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        first = smtp.send([outgoing(1)])
        server.drop_connections()
        second = smtp.send([outgoing(2), outgoing(3)])
    # Reopened at once: a connection that went stale while idle is no failed try.
    assert [(r.status, r.attempts) for r in first + second] == [("sent", 1)] * 3
    assert delays == []
    assert len(server.handler.received) == 3
    assert server.handler.connections() == 2


def test_an_idle_timeout_is_met_with_a_new_connection(start_server: Callable[..., Server]) -> None:
    server = start_server(timeout=0.2)  # aiosmtpd says "421 timeout" and hangs up
    delays: list[float] = []
    with transport(f"smtp://{server.host}:{server.port}", delays) as smtp:
        smtp.send([outgoing(1)])
        time.sleep(0.5)
        [result] = smtp.send([outgoing(2)])
    assert (result.status, result.attempts) == ("sent", 1)
    assert delays == []
    assert server.handler.connections() == 2


def test_an_unreachable_server_is_tried_once_per_batch() -> None:
    delays: list[float] = []
    with transport(f"smtp://127.0.0.1:{free_port()}?timeout=2", delays) as smtp:
        results = smtp.send([outgoing(1), outgoing(2), outgoing(3)])
    assert [(r.status, r.attempts) for r in results] == [
        ("temporary_failure", 4),
        ("temporary_failure", 0),
        ("temporary_failure", 0),
    ]
    assert "refused" in results[0].detail.lower()
    assert delays == [1.0, 2.0, 4.0]


def test_a_customer_without_an_email_is_skipped_with_the_reason(server: Server) -> None:
    with transport(f"smtp://{server.host}:{server.port}", []) as smtp:
        results = smtp.send([outgoing(1, to_address=None), outgoing(2, to_address="n/a"), outgoing(3)])
    assert [(r.status, r.detail) for r in results] == [
        ("skipped", "no email address"),
        ("skipped", "not a valid email address"),
        ("sent", ""),
    ]
    assert [r.recipients for r in server.handler.received] == [["customer3@example.com"]]
