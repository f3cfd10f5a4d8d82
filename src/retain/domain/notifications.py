"""A text message or a push notification as the business sees it.

Like ``OutgoingEmail``, an ``OutgoingNotification`` knows nothing of the wire: a transport in
``retain.messaging`` hands it to an SMS or push provider and reports a ``DeliveryResult``.

The recipient (a phone number, a device token) comes from a customer record and may be
missing or malformed: such a message is skipped with a reason, not refused. Everything else
(key, text, title, link) is the store's own and is checked when the message is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from retain.domain.messages import MAX_URI_LENGTH, MessageError

Channel = Literal["sms", "push"]
CHANNELS: tuple[Channel, ...] = ("sms", "push")
# Four concatenated SMS segments of 153 GSM-7 characters each.
MAX_SMS_TEXT = 612
MAX_PUSH_TEXT = 240
MAX_PUSH_TITLE = 100
# Keys travel in an HTTP header, and providers keep idempotency keys of limited length.
MAX_KEY_LENGTH = 255
# APNs and FCM tokens are well under this; anything longer is not a token.
MAX_DEVICE_TOKEN = 4096
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def phone_problem(number: str | None) -> str | None:
    """Why no SMS can go to ``number``, or None when one can."""
    if number is None or not number.strip():
        return "no phone number"
    if not _E164.fullmatch(number):
        return "not an E.164 phone number (like +447700900123)"
    return None


def device_token_problem(token: str | None) -> str | None:
    """Why no push notification can go to ``token``, or None when one can."""
    if token is None or not token.strip():
        return "no device token"
    if len(token) > MAX_DEVICE_TOKEN or not token.isascii() or not token.isprintable() or " " in token:
        return "not a valid device token"
    return None


@dataclass(frozen=True)
class OutgoingNotification:
    """One SMS or push notification to one recipient.

    ``key`` names the message for good (for example ``winback:42:sms-1``), so a provider can
    recognise a retry as the same message. ``to`` is an E.164 phone number for ``sms`` and a
    device token for ``push``; ``title`` and ``url`` (what a tap opens, https only) are for
    push notifications only.
    """

    key: str
    channel: Channel
    to: str | None
    text: str
    title: str = ""
    url: str | None = None
    customer_id: int | None = None

    def __post_init__(self) -> None:
        if not self.key.strip():
            raise MessageError("key: must not be empty")
        if not self.key.isascii() or not self.key.isprintable():
            raise MessageError("key: must be printable ASCII on one line")
        if len(self.key) > MAX_KEY_LENGTH:
            raise MessageError(f"key: longer than {MAX_KEY_LENGTH} characters")
        if self.channel not in CHANNELS:
            raise MessageError(f"channel: must be sms or push, not {self.channel!r}")
        if not self.text.strip():
            raise MessageError("text: must not be empty")
        limit = MAX_SMS_TEXT if self.channel == "sms" else MAX_PUSH_TEXT
        if len(self.text) > limit:
            raise MessageError(f"text: longer than {limit} characters for {self.channel}")
        if self.channel == "sms":
            if self.title:
                raise MessageError("title: only push notifications have a title")
            if self.url is not None:
                raise MessageError("url: only push notifications open a link")
            return
        if "\r" in self.title or "\n" in self.title:
            raise MessageError("title: must be a single line")
        if len(self.title) > MAX_PUSH_TITLE:
            raise MessageError(f"title: longer than {MAX_PUSH_TITLE} characters")
        if self.url is not None:
            _https_url(self.url)

    def skip_reason(self) -> str | None:
        """Why this message cannot be sent to its recipient at all, or None."""
        if self.channel == "sms":
            return phone_problem(self.to)
        return device_token_problem(self.to)


def _https_url(url: str) -> None:
    scheme = "https://"
    if not url.lower().startswith(scheme) or len(url) == len(scheme) or url[len(scheme)] in "/?#":
        raise MessageError("url: must be an https:// link with a host")
    if not url.isascii() or any(c.isspace() or c in "<>\"'" or not c.isprintable() for c in url):
        raise MessageError("url: must be ASCII without spaces, quotes or angle brackets")
    if len(url) > MAX_URI_LENGTH:
        raise MessageError(f"url: longer than {MAX_URI_LENGTH} characters")
