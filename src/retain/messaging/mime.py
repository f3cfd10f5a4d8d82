"""An ``OutgoingEmail`` as the bytes an SMTP server or a mail client reads.

Both bodies go as multipart/alternative, plain text first and HTML last (clients show the
last part they can), in UTF-8 with quoted-printable: lines stay under 76 characters and
7-bit safe, yet mostly-ASCII text and links stay readable in the raw message, and spam
filters count base64-encoded text bodies against a sender.
"""

from __future__ import annotations

import binascii
import hashlib
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import Header
from email.headerregistry import BaseHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime, formataddr

from retain.domain.messages import MessageError, OutgoingEmail

ONE_CLICK = "List-Unsubscribe=One-Click"


class _UriListHeader(BaseHeader):
    """RFC 2369 headers (List-Unsubscribe): URIs in angle brackets, read literally.

    The default folding turns a URI longer than a line into RFC 2047 encoded words, which
    receivers do not decode in these headers; this folds between the URIs instead.
    """

    max_count = 1

    @classmethod
    def parse(cls, value: str, kwds: dict[str, object]) -> None:
        kwds["decoded"] = value
        kwds["parse_tree"] = None

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: " + f",{policy.linesep} ".join(self.split(", ")) + policy.linesep


def utc_now() -> datetime:
    """The clock a transport stamps Date headers with, unless it is handed another."""
    return datetime.now(UTC)


def build_message(email: OutgoingEmail, now: datetime) -> EmailMessage:
    """The message as the ``email`` package reads it back: for checks and for tests."""
    parsed = message_from_bytes(message_bytes(email, now), policy=SMTP)
    assert isinstance(parsed, EmailMessage)
    return parsed


def message_bytes(email: OutgoingEmail, now: datetime) -> bytes:
    """The message on the wire, CRLF line ends, 7-bit.

    Written directly rather than through ``email.message``: the standard library's header
    registry parses every header it is given back again, which made building a message
    cost more than rendering it and sending it together.
    """
    if problem := email.skip_reason():
        raise MessageError(f"to_address: {problem}")
    digest = hashlib.sha256(email.key.encode()).hexdigest()
    # "=_" cannot occur in quoted-printable text (it would read "=3D_"), so no body
    # line can ever look like the boundary.
    boundary = f"=_{digest[:24]}"
    lines = [
        f"Message-ID: {message_id(email)}",
        f"Date: {format_datetime(now)}",
        _header("From", _mailbox(email.sender.name, email.sender.address)),
        _header("To", _mailbox(email.to_name, email.to_address or "")),
    ]
    if email.reply_to is not None:
        lines.append(_header("Reply-To", _mailbox(email.reply_to.name, email.reply_to.address)))
    lines.append(_header("Subject", _words("Subject", email.subject)))
    links = [f"<{uri}>" for uri in (email.unsubscribe_url, email.unsubscribe_mailto) if uri]
    if links:  # folded between the URIs, never inside one
        lines.append("List-Unsubscribe: " + ",\r\n ".join(links))
    if email.unsubscribe_url:
        lines.append(f"List-Unsubscribe-Post: {ONE_CLICK}")
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
    ]
    head = "\r\n".join(lines).encode("ascii")
    parts = [head]
    for subtype, body in (("plain", email.text), ("html", email.html)):
        parts.append(
            f'\r\n--{boundary}\r\nContent-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii")
        )
        parts.append(_quoted_printable(body))
    parts.append(f"\r\n--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts)


def _quoted_printable(text: str) -> bytes:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(normalised, quotetabs=False, istext=True, header=False)
    return encoded.replace(b"\n", b"\r\n")


def _mailbox(name: str, address: str) -> str:
    return formataddr((name, address), charset="utf-8") if name else address


def _words(name: str, value: str) -> str:
    """``value`` as it may stand in a header: RFC 2047 encoded words when not ASCII."""
    if value.isascii():
        return value
    return Header(value, "utf-8", header_name=name, maxlinelen=78).encode(linesep="\r\n")


def _header(name: str, value: str) -> str:
    line = f"{name}: {value}"
    if len(line) <= 78 or "\r\n" in value:
        return line
    # Fold long plain text at spaces, as RFC 5322 allows.
    folded = Header(value, "us-ascii" if value.isascii() else "utf-8", header_name=name, maxlinelen=78)
    return f"{name}: {folded.encode(linesep=chr(13) + chr(10))}"


def message_id(email: OutgoingEmail) -> str:
    """The same for every send of one key, so a repeated send can be recognised as such."""
    digest = hashlib.sha256(email.key.encode()).hexdigest()[:32]
    return f"<{digest}@{email.sender.address.rpartition('@')[2]}>"
