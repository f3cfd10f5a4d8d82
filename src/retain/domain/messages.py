"""An e-mail as the business sees it, and what became of it.

Nothing here knows SMTP or MIME: ``retain.messaging`` turns an ``OutgoingEmail`` into bytes
on a wire or in a file and reports one ``DeliveryResult`` for each, so the use cases can
record sends, try later, or suppress an address a receiving server refused for good.

Recipients come from customer records, where an e-mail may be missing or mistyped: such a
message is skipped with a reason, not refused, so one bad record never stops a batch.
Everything else (sender, subject, unsubscribe links) is the store's own and is checked
when the message is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Literal

# Addresses plain SMTP can carry: an ASCII local part without spaces or specials, and a
# dotted host name. International addresses need SMTPUTF8, which not every server offers.
_LOCAL_PART = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ADDRESS = re.compile(_LOCAL_PART + "@(?:" + _LABEL + r"\.)+[A-Za-z]" + _LABEL)  # a letter starts the TLD
# A List-Unsubscribe line must stay under the 998 characters RFC 5322 allows.
MAX_URI_LENGTH = 900
_UNSAFE_IN_URI = re.compile(r"[\s<>]")
DeliveryStatus = Literal["sent", "temporary_failure", "permanent_failure", "skipped"]


class MessageError(ValueError):
    """A message no server should be handed; the message says which part is wrong."""


def address_problem(address: str | None) -> str | None:
    """Why no message can go to ``address``, or None when one can."""
    if address is None or not address.strip():
        return "no email address"
    if not address.isascii():
        return "international email addresses are not supported"
    if not _ADDRESS.fullmatch(address) or ".." in address or address.startswith("."):
        return "not a valid email address"
    return None


@dataclass(frozen=True)
class Mailbox:
    """An address with the name shown beside it (``Coffee & Co <shop@example.com>``)."""

    address: str
    name: str = ""

    def __post_init__(self) -> None:
        if problem := address_problem(self.address):
            raise MessageError(f"address: {problem}")
        _single_line("name", self.name)

    @classmethod
    def parse(cls, text: str) -> Mailbox:
        """From the way people write a sender: a bare address or ``Name <address>``."""
        name, address = parseaddr(text)
        if not address:
            raise MessageError(f"address: {text!r} is not an address or 'Name <address>'")
        return cls(address, name)


@dataclass(frozen=True)
class OutgoingEmail:
    """One message to one recipient.

    ``key`` names the message for good (for example ``winback:42:step-2``): handing the same
    key over twice delivers it once to the outbox and gives it the same Message-ID on the
    wire, so a retry after a crash can be recognised as the same message.
    """

    key: str
    to_address: str | None
    to_name: str
    sender: Mailbox
    subject: str
    text: str
    html: str
    reply_to: Mailbox | None = None
    # RFC 8058 one-click unsubscribe: an https URL receivers POST to, and a mailto.
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None

    def __post_init__(self) -> None:
        if not self.key.strip():
            raise MessageError("key: must not be empty")
        for field in ("key", "to_name", "subject"):
            _single_line(field, getattr(self, field))
        if self.unsubscribe_url is not None:
            _uri("unsubscribe_url", self.unsubscribe_url, "https://")
        if self.unsubscribe_mailto is not None:
            _uri("unsubscribe_mailto", self.unsubscribe_mailto, "mailto:")

    def skip_reason(self) -> str | None:
        """Why this message cannot be sent to its recipient at all, or None."""
        return address_problem(self.to_address)


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one message.

    - ``sent``: the server (or the outbox) accepted it.
    - ``temporary_failure``: not delivered, worth trying later (4xx replies, an unreachable
      server, a sender or login the server refused); never a reason to suppress the address.
    - ``permanent_failure``: the server refused the recipient or the message for good
      (5xx); ``code`` and ``detail`` hold its reply, and the address should be suppressed.
    - ``skipped``: never handed to a server; ``detail`` says why.
    """

    key: str
    address: str | None
    status: DeliveryStatus
    detail: str = ""
    code: int | None = None  # the server's reply code, when there was one
    attempts: int = 0


def skipped(message: OutgoingEmail, reason: str) -> DeliveryResult:
    return DeliveryResult(message.key, message.to_address, "skipped", reason)


def _single_line(field: str, value: str) -> None:
    # A line break in a header would let text from a record inject headers of its own.
    if "\r" in value or "\n" in value:
        raise MessageError(f"{field}: must be a single line")


def _uri(field: str, value: str, scheme: str) -> None:
    if not value.lower().startswith(scheme) or len(value) == len(scheme):
        raise MessageError(f"{field}: must start with {scheme}")
    if not value.isascii() or _UNSAFE_IN_URI.search(value):
        raise MessageError(f"{field}: must be ASCII without spaces or angle brackets")
    if len(value) > MAX_URI_LENGTH:
        raise MessageError(f"{field}: longer than {MAX_URI_LENGTH} characters")


@dataclass(frozen=True)
class RenderedMessage:
    """A template filled in for one customer: what an ``OutgoingEmail`` is made of."""

    subject: str
    html: str
    text: str
    topic: str
