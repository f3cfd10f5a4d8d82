"""Feedback as Retain reads it: which team it is for, how the customer feels, and the two
warning signs worth a person's attention: a competitor named, an intention to leave."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Category = Literal[
    "delivery_shipping", "product_quality", "price_billing", "website_checkout", "customer_service", "other"
]  # fmt: skip
CATEGORIES: tuple[str, ...] = get_args(Category)
Sentiment = Literal["negative", "neutral", "positive"]
SENTIMENTS: tuple[str, ...] = get_args(Sentiment)
# The team whose queue each category goes to.
TEAMS: dict[str, str] = {
    "delivery_shipping": "fulfilment",
    "product_quality": "product",
    "price_billing": "billing",
    "website_checkout": "web",
    "customer_service": "support",
    "other": "support",
}


@dataclass(frozen=True)
class Triage:
    category: Category
    sentiment: Sentiment
    mentions_competitor: bool
    intends_to_leave: bool

    @property
    def team(self) -> str:
        return TEAMS[self.category]


Source = Literal["survey", "review", "complaint", "reply", "goodbye", "api"]
SOURCES: tuple[str, ...] = get_args(Source)
# Feedback that creates a ticket on its own: someone asked for help.
TICKET_SOURCES = frozenset({"complaint", "reply"})
MAX_COMPLAINT = 5_000  # characters
MAX_UPLOAD = 5 * 1024 * 1024  # bytes of one attached photo or document
UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif", "application/pdf"})

# Why people leave, as the goodbye page offers them; every one optional.
GOODBYE_REASONS: dict[str, str] = {
    "too_many": "Too many emails",
    "not_relevant": "The emails aren't relevant to me",
    "bought_elsewhere": "I buy elsewhere now",
    "too_expensive": "Too expensive",
    "bad_experience": "I had a bad experience",
    "privacy": "Privacy",
    "other": "Something else",
}
GoodbyeAction = Literal["unsubscribe", "close_account", "fewer_emails"]


class FeedbackError(ValueError):
    """Feedback that cannot be recorded: the message says why."""


def complaint_text(text: object) -> str:
    """A complaint's text as kept; empty or oversized text is refused."""
    if not isinstance(text, str) or not text.replace("\x00", "").strip():
        raise FeedbackError("tell us what went wrong: the message is empty")
    words = text.replace("\x00", "").strip()
    if len(words) > MAX_COMPLAINT:
        raise FeedbackError(
            f"the message is {len(words):,} characters long; please keep it under {MAX_COMPLAINT:,}"
        )
    return words


def check_upload(name: str, content_type: str, size: int) -> None:
    if size > MAX_UPLOAD:
        raise FeedbackError(
            f"{name} is {size / 1024 / 1024:.1f} MB; files up to {MAX_UPLOAD // 1024 // 1024} MB are accepted"
        )
    if content_type not in UPLOAD_TYPES:
        raise FeedbackError(f"{name}: only photos (JPEG, PNG, WebP, GIF) and PDF files are accepted")


def needs_action(triage: Triage, source: str, score_negative: bool | None) -> bool:
    """Whether feedback belongs in the action plan: a problem, not praise. A complaint, a
    customer about to leave or naming a competitor always is, whatever the sentiment read."""
    if source in TICKET_SOURCES or triage.intends_to_leave or triage.mentions_competitor:
        return True
    if score_negative is not None:
        return score_negative or triage.sentiment == "negative"
    return triage.sentiment != "positive"
