"""A customer's e-mail reply, as feedback: who sent it, and what they wrote themselves.

A reply carries the message it answers (quoted with ``>``, or below an "On ... wrote:"
line, or after an Outlook "-----Original Message-----" or "From:" block) and often a
signature after ``-- ``. Only the customer's own words are kept: the classifier should
read the complaint, not the store's newsletter quoted under it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parseaddr

from retain.domain.feedback import FeedbackError

_QUOTE_HEADER = re.compile(
    r"^\s*(On .{4,200} wrote:|Le .{4,200} a écrit ?:|Am .{4,200} schrieb .{0,100}:|"
    r"-{2,}\s*Original Message\s*-{2,}|From: .+|Sent from my \w+.*)\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^-- ?$")


@dataclass(frozen=True)
class Reply:
    sender: str  # the address, lower case
    subject: str
    text: str  # the customer's own words
    message_id: str


def own_words(body: str) -> str:
    """The text above the quoted message and the signature."""
    kept: list[str] = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if _SIGNATURE.match(line) or _QUOTE_HEADER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(("plain", "html"))
    if part is None:
        return ""
    content = str(part.get_content())
    if part.get_content_type() == "text/html":
        content = re.sub(r"<(br|/p|/div)\b[^>]*>", "\n", content, flags=re.IGNORECASE)
        content = re.sub(r"<[^>]+>", "", content)
    return content


def read_reply(raw: bytes) -> Reply:
    """A reply from the bytes of an RFC 5322 message; FeedbackError when it has no sender
    or nothing the customer wrote."""
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage):
        raise FeedbackError("not an e-mail message")
    address = parseaddr(str(message.get("From", "")))[1].strip().lower()
    if "@" not in address:
        raise FeedbackError("the message has no sender address")
    text = own_words(_plain_text(message))
    if not text:
        raise FeedbackError(f"the message from {address} has no text of its own")
    message_id = (
        str(message.get("Message-ID", "")).strip() or f"<{hashlib.sha256(raw).hexdigest()[:32]}@no-id>"
    )
    return Reply(address, str(message.get("Subject", "")).strip(), text, message_id)
