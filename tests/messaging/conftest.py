"""A real SMTP server on a free localhost port (aiosmtpd, in a thread) and test certificates."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from retain.domain.messages import Mailbox, OutgoingEmail

HOST = "127.0.0.1"
USER, PASSWORD = "shop", "p@ss:w/rd?#1"  # every character a URL must escape


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    content: bytes
    peer: tuple[str, int]  # the client's end of the connection: one per connection

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it accepts and refuses when told to."""

    received: list[Received] = field(default_factory=list)
    busy: int = 0  # answer this many recipients "451 try again later" first
    unknown: set[str] = field(default_factory=set)  # answer these "550 no such user"
    spam: str | None = None  # refuse messages whose subject is this, after DATA
    sender_banned: bool = False  # refuse every sender
    servers: list[SMTP] = field(default_factory=list)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.sender_banned:
            return "550 5.7.1 Sender not allowed to relay"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.servers.append(server)
        if address in self.unknown:
            return "550 5.1.1 No such user here"
        if self.busy > 0:
            self.busy -= 1
            return "451 4.3.0 Busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert envelope.mail_from is not None
        assert isinstance(envelope.original_content, bytes)
        if self.spam is not None and f"Subject: {self.spam}\r\n".encode() in envelope.original_content:
            return "554 5.7.1 Message rejected as spam"
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, session.peer)
        )
        return "250 2.0.0 Accepted"

    def connections(self) -> int:
        return len({r.peer for r in self.received})


@dataclass
class Server:
    host: str
    port: int
    handler: Recorder
    controller: Controller

    def drop_connections(self) -> None:
        """Close every client connection from the server's side, as an idle timeout would."""

        async def close() -> None:
            for server in self.handler.servers:
                server.transport.close()

        asyncio.run_coroutine_threadsafe(close(), self.controller.loop).result(timeout=5)


@dataclass(frozen=True)
class Certificates:
    server: ssl.SSLContext
    client: ssl.SSLContext  # trusts the test CA, and nothing else


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def check_password(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    valid = isinstance(data, LoginPassword) and data == (USER.encode(), PASSWORD.encode())
    # handled=False: the server answers 535 itself.
    return AuthResult(success=valid, handled=False)


@pytest.fixture(scope="session")
def certificates() -> Certificates:
    authority = trustme.CA()
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(HOST).configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return Certificates(server, client)


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """Starts aiosmtpd with the given Controller options; every server stops after the test."""
    started: list[Controller] = []

    def start(**options: Any) -> Server:
        handler = Recorder()
        controller = Controller(handler, hostname=HOST, port=free_port(), **options)
        controller.start()
        started.append(controller)
        return Server(HOST, controller.port, handler, controller)

    yield start
    for controller in started:
        controller.stop()


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    return start_server()


def outgoing(number: int = 1, **changes: Any) -> OutgoingEmail:
    fields: dict[str, Any] = {
        "key": f"winback:{number}",
        "to_address": f"customer{number}@example.com",
        "to_name": f"Customer {number}",
        "sender": Mailbox("shop@example.com", "Coffee & Co"),
        "subject": "We miss you",
        "text": "Come back for 15% off: https://shop.example.com/welcome-back?code=K7QX",
        "html": '<p>Come back for <a href="https://shop.example.com/welcome-back?code=K7QX">15% off</a></p>',
    }
    return OutgoingEmail(**(fields | changes))
