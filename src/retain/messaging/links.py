"""Signed links in messages: unsubscribe, preferences, complaint, click tracking, open pixel.

Every link a recipient can act on carries a token signed with the store's secret key
(``itsdangerous``' timestamp signer: HMAC over a compact base64 JSON payload and the time
it was made), so nobody can
unsubscribe someone else, forge a click, or turn the click redirect into an open redirect
to a site the store never linked to. Each kind of link has its own salt: a click token is
not accepted as an unsubscribe token. Tokens expire: the page a link opens refuses one
older than the kind allows, and says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from itsdangerous.encoding import base64_decode, base64_encode

from retain.domain.personalization import Brand, Links

Purpose = Literal["unsubscribe", "preferences", "complaint", "click", "open", "survey", "review", "loyalty"]
DAY = 86_400
# How long a link keeps working: long enough for an old e-mail found in an inbox.
MAX_AGE: dict[str, int] = {
    "unsubscribe": 365 * DAY,
    "preferences": 365 * DAY,
    "complaint": 365 * DAY,
    "click": 365 * DAY,
    "open": 365 * DAY,
    "survey": 30 * DAY,
    "review": 90 * DAY,
    "loyalty": 90 * DAY,  # a member's points page and API, as a store's account page embeds it
}
_HREF = re.compile(r'(<a\b[^>]*?\bhref=")([^"]+)(")', re.IGNORECASE)


class BadToken(ValueError):
    """A link that was tampered with, is of another kind, or has expired."""


@dataclass(frozen=True)
class Tracking:
    """Where a signed link points, as the page that receives it reads it back."""

    customer_id: int | None
    message_key: str | None
    url: str | None = None  # a click's target; a survey's kind


class LinkSigner:
    """Makes and reads the signed links of one store, served from ``base_url``."""

    def __init__(self, secret: bytes, base_url: str) -> None:
        if len(secret) < 16:
            raise ValueError("secret: at least 16 bytes")
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._signers: dict[str, TimestampSigner] = {}

    def _signer(self, purpose: str) -> TimestampSigner:
        if purpose not in self._signers:
            self._signers[purpose] = TimestampSigner(self._secret, salt=f"retain.{purpose}")
        return self._signers[purpose]

    def token(
        self, purpose: Purpose, customer_id: int | None, message_key: str | None, url: str | None = None
    ) -> str:
        # A message carries a dozen links: a plain JSON array signed with a timestamp keeps
        # each under ten microseconds to make.
        fields: list[Any] = [customer_id, message_key] if url is None else [customer_id, message_key, url]
        payload = base64_encode(json.dumps(fields, separators=(",", ":")))
        return self._signer(purpose).sign(payload).decode("ascii")

    def read(self, purpose: Purpose, token: str) -> Tracking:
        """The payload of ``token``; raises BadToken for a forged, foreign or expired one."""
        try:
            payload = self._signer(purpose).unsign(token, max_age=MAX_AGE[purpose])
            fields = json.loads(base64_decode(payload))
        except SignatureExpired as exc:
            raise BadToken("this link has expired") from exc
        except (BadSignature, ValueError) as exc:
            raise BadToken("this link is not valid") from exc
        if not isinstance(fields, list) or len(fields) not in (2, 3):
            raise BadToken("this link is not valid")
        customer, key, url = [*fields, None][:3]
        if not (customer is None or isinstance(customer, int)) or not (key is None or isinstance(key, str)):
            raise BadToken("this link is not valid")
        return Tracking(customer, key, url if isinstance(url, str) else None)

    def url(self, purpose: Purpose, customer_id: int | None, message_key: str | None = None) -> str:
        path = {"open": "o", "click": "c"}.get(purpose, purpose)
        return f"{self.base_url}/{path}/{self.token(purpose, customer_id, message_key)}"

    def survey_url(self, customer_id: int | None, key: str, kind: str) -> str:
        """A survey's page for one invitation (the message ``key``); the kind is signed with
        it, so an NPS link cannot be turned into a review."""
        if kind == "review":
            return f"{self.base_url}/r/{self.token('review', customer_id, key, kind)}"
        return f"{self.base_url}/s/{self.token('survey', customer_id, key, kind)}"

    def read_survey(self, purpose: Literal["survey", "review"], token: str) -> tuple[int, str, str]:
        """(customer, invitation key, survey kind) of a survey or review link; BadToken for a
        forged, expired or incomplete one."""
        found = self.read(purpose, token)
        if found.customer_id is None or not found.message_key or not found.url:
            raise BadToken("this link is not valid")
        return found.customer_id, found.message_key, found.url

    def click_url(self, customer_id: int | None, message_key: str, target: str) -> str:
        return f"{self.base_url}/c/{self.token('click', customer_id, message_key, target)}"

    def track(
        self, html: str, customer_id: int | None, message_key: str, *, skip: tuple[str, ...] = ()
    ) -> str:
        """``html`` with every http(s) link sent through the click redirect and an open pixel
        before ``</body>``. Links starting with one of ``skip`` (unsubscribe and preference
        pages, which are signed already) stay as they are."""

        def redirect(match: re.Match[str]) -> str:
            target = _unescape_attribute(match.group(2))
            if not target.startswith(("https://", "http://")) or target.startswith(skip):
                return match.group(0)
            return match.group(1) + self.click_url(customer_id, message_key, target) + match.group(3)

        tracked = _HREF.sub(redirect, html)
        pixel = (
            f'<img src="{self.url("open", customer_id, message_key)}" width="1" height="1" alt="" '
            'style="display:block;border:0;width:1px;height:1px;" />'
        )
        head, body_end, tail = tracked.rpartition("</body>")
        return head + pixel + body_end + tail if body_end else tracked + pixel


class MessageLinks(LinkSigner):
    """The links of one message, as the send use case asks for them."""

    def links(self, brand: Brand, customer_id: int, key: str, surveys: tuple[str, ...] = ()) -> Links:
        """The links of one message; ``surveys`` names the survey links it shows (a survey
        kind for ``links.survey``, ``review`` for ``links.review``)."""
        survey = next((k for k in surveys if k != "review"), None)
        return Links(
            shop=brand.shop_url,
            unsubscribe=self.url("unsubscribe", customer_id, key),
            preferences=self.url("preferences", customer_id, key),
            complaint=self.url("complaint", customer_id, key),
            survey=None if survey is None else self.survey_url(customer_id, key, survey),
            review=self.survey_url(customer_id, key, "review") if "review" in surveys else None,
        )

    def track(
        self, html: str, customer_id: int | None, message_key: str, *, skip: tuple[str, ...] = ()
    ) -> str:
        own = tuple(f"{self.base_url}/{path}/" for path in ("unsubscribe", "preferences", "complaint"))
        return super().track(html, customer_id, message_key, skip=skip + own)

    def list_unsubscribe_for(self, brand: Brand, url: str) -> tuple[str | None, str | None]:
        """The same, from the unsubscribe URL a message already carries."""
        token = url.rsplit("/", 1)[1]
        return (url if url.startswith("https://") else None), mailto_unsubscribe(brand.sender_address, token)


def mailto_unsubscribe(address: str, token: str) -> str:
    """The mailto of ``List-Unsubscribe``: a message to the store whose subject names the
    recipient by a signed token."""
    return f"mailto:{address}?subject={quote('unsubscribe ' + token)}"


def _unescape_attribute(value: str) -> str:
    return value.replace("&amp;", "&").replace("&quot;", '"').replace("&#39;", "'")
