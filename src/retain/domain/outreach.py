"""Who may be sent what: consent, topics, frequency and suppressed addresses.

Every message has a topic. ``transactional`` messages (a thank-you for an order, an answer
to a complaint) go to anyone with a working address; every other topic is marketing and
needs the customer's consent, a topic they have not muted, and room under the frequency
they chose on the preference page. An address that bounced, complained or was refused for
good receives nothing at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, get_args

from retain.domain.messages import address_problem

Topic = Literal["transactional", "offers", "newsletter", "reviews", "loyalty"]
TOPICS: tuple[str, ...] = get_args(Topic)
MARKETING_TOPICS: tuple[str, ...] = tuple(t for t in TOPICS if t != "transactional")
Frequency = Literal["normal", "weekly", "monthly"]
FREQUENCIES: tuple[str, ...] = get_args(Frequency)
_GAP = {"weekly": timedelta(days=7), "monthly": timedelta(days=30)}
# What the preference page calls each topic.
TOPIC_LABELS = {
    "offers": "Offers and discount codes",
    "newsletter": "News and new products",
    "reviews": "Review and survey requests",
    "loyalty": "Points and rewards updates",
}


@dataclass(frozen=True)
class Contact:
    """A customer as the sender sees them."""

    customer_id: int
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    marketing_consent: bool | None = None
    muted_topics: frozenset[str] = field(default_factory=frozenset)
    frequency: str = "normal"
    suppressed: str | None = None  # why the address takes no mail, when it takes none
    last_marketing_at: datetime | None = None
    recent_marketing: int = 0  # marketing messages sent within the calendar's window
    recent_from_flow: int = 0  # messages the sending flow sent within its own cap's window


@dataclass(frozen=True)
class Calendar:
    """At most ``messages`` marketing messages per customer per ``days``, across all flows
    and campaigns; a flow may set a tighter cap of its own (``flow_messages`` per
    ``flow_days``). Transactional messages are exempt."""

    messages: int = 2
    days: int = 7
    flow_messages: int | None = None
    flow_days: int | None = None


def why_not(contact: Contact, topic: str, now: datetime, calendar: Calendar | None = None) -> str | None:
    """Why ``contact`` must not get a message on ``topic`` now, or None when they may."""
    if topic not in TOPICS:
        raise ValueError(f"topic: {topic!r} is not one of {', '.join(TOPICS)}")
    if problem := address_problem(contact.email):
        return problem
    if contact.suppressed:
        return f"address suppressed ({contact.suppressed})"
    if topic == "transactional":
        return None
    if contact.marketing_consent is not True:
        return "no marketing consent" if contact.marketing_consent is None else "unsubscribed"
    if topic in contact.muted_topics:
        return f"muted topic {topic}"
    gap = _GAP.get(contact.frequency)
    if gap is not None and contact.last_marketing_at is not None and now - contact.last_marketing_at < gap:
        return f"asked for {contact.frequency} messages at most"
    if calendar is not None:
        if contact.recent_marketing >= calendar.messages:
            return f"over the cap: {calendar.messages} marketing messages in {calendar.days} days"
        if calendar.flow_messages is not None and contact.recent_from_flow >= calendar.flow_messages:
            return f"over the flow's cap: {calendar.flow_messages} in {calendar.flow_days} days"
    return None


def split_name(name: str | None) -> tuple[str | None, str | None]:
    """First and last name from a full name as stores record it ("Ada Lovelace")."""
    if not name or not name.strip():
        return None, None
    first, _, last = name.strip().partition(" ")
    return first, last.strip() or None
