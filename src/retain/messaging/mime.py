"""An ``OutgoingEmail`` as the bytes an SMTP server or a mail client reads.

Both bodies go as multipart/alternative, plain text first and HTML last (clients show the
last part they can), in UTF-8 with quoted-printable: lines stay under 76 characters and
7-bit safe, yet mostly-ASCII text and links stay readable in the raw message, and spam
filters count base64-encoded text bodies against a sender.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime

from retain.domain.messages import Mailbox, MessageError, OutgoingEmail

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
    if problem := email.skip_reason():
        raise MessageError(f"to_address: {problem}")
    message = EmailMessage(policy=SMTP)
    message["Message-ID"] = message_id(email)
    message["Date"] = format_datetime(now)
    message["From"] = _address(email.sender)
    message["To"] = Address(email.to_name, addr_spec=email.to_address or "")
    if email.reply_to is not None:
        message["Reply-To"] = _address(email.reply_to)
    message["Subject"] = email.subject
    links = [f"<{uri}>" for uri in (email.unsubscribe_url, email.unsubscribe_mailto) if uri]
    if links:
        message["List-Unsubscribe"] = _UriListHeader("List-Unsubscribe", ", ".join(links))
    if email.unsubscribe_url:
        message["List-Unsubscribe-Post"] = ONE_CLICK
    message.set_content(email.text, cte="quoted-printable")
    message.add_alternative(email.html, subtype="html", cte="quoted-printable")
    return message


def message_id(email: OutgoingEmail) -> str:
    """The same for every send of one key, so a repeated send can be recognised as such."""
    digest = hashlib.sha256(email.key.encode()).hexdigest()[:32]
    return f"<{digest}@{email.sender.address.rpartition('@')[2]}>"


def _address(mailbox: Mailbox) -> Address:
    return Address(mailbox.name, addr_spec=mailbox.address)
