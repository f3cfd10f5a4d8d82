"""What a message template may know about its one recipient, and about the store.

A template sees exactly these values and nothing else: plain strings, numbers and dates
already formatted for reading, for one customer at a time. It holds no database handle and
no callable, so a template cannot reach another customer's data, read a file or call a
function, whatever its author writes.

Money arrives formatted (``"€42.50"``), since a template has no business doing arithmetic
on amounts; dates arrive as ``date`` so a template can choose how to show them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
# The name used when a customer's first name is unknown: "Hi there,".
FALLBACK_FIRST_NAME = "there"


class BrandError(ValueError):
    """A brand setting no e-mail could be built with; the message names the setting."""


@dataclass(frozen=True)
class Brand:
    """The store as its e-mails show it: the header, the colours, the sender, the footer.

    A postal address in the footer is the law for marketing e-mail in many places (CAN-SPAM
    in the United States, for one), so it is required.
    """

    store_name: str
    sender_name: str
    sender_address: str
    postal_address: str
    shop_url: str
    logo_url: str | None = None
    # The colour of buttons and links, and of the header band.
    accent_colour: str = "#1F6F5C"
    text_colour: str = "#222222"
    background_colour: str = "#F4F4F0"

    def __post_init__(self) -> None:
        for name in ("store_name", "sender_name", "sender_address", "postal_address", "shop_url"):
            if not getattr(self, name).strip():
                raise BrandError(f"{name}: must not be empty")
        for name in ("accent_colour", "text_colour", "background_colour"):
            if not _COLOUR.fullmatch(getattr(self, name)):
                raise BrandError(f"{name}: {getattr(self, name)!r} is not a colour like #1F6F5C")
        for name in ("shop_url", "logo_url"):
            value = getattr(self, name)
            if value is not None and not value.startswith(("https://", "http://")):
                raise BrandError(f"{name}: {value!r} is not an http(s) URL")


@dataclass(frozen=True)
class ProductView:
    title: str
    category: str | None = None
    price: str | None = None  # formatted, e.g. "€18.00"
    url: str | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class OrderView:
    number: str  # the store's own order name, e.g. "#1042"
    placed_on: date
    total: str  # formatted
    products: tuple[ProductView, ...] = ()


@dataclass(frozen=True)
class CodeView:
    """A unique discount code issued to this customer."""

    code: str  # as printed, e.g. "K7QX-M2PD-9HTW"
    offer: str  # what it gives, e.g. "15% off", "€10 off", "free shipping"
    expires_on: date | None = None
    minimum_order: str | None = None  # formatted; None when there is no minimum


@dataclass(frozen=True)
class PointsView:
    balance: int
    tier: str | None = None
    worth: str | None = None  # what the balance buys, formatted
    referral_code: str | None = None  # for the member's referral link


@dataclass(frozen=True)
class CustomerView:
    first_name: str  # never empty: FALLBACK_FIRST_NAME when unknown
    last_name: str = ""
    email: str = ""
    known_name: bool = True  # False when first_name is the fallback


@dataclass(frozen=True)
class Links:
    """Every link a message may carry; the last three only when the message calls for one."""

    shop: str
    unsubscribe: str  # the confirmation page (GET shows, POST confirms)
    preferences: str
    complaint: str  # "Something wrong? Tell us"
    survey: str | None = None
    review: str | None = None
    referral: str | None = None


@dataclass(frozen=True)
class MessageContext:
    """Everything one message to one customer may show."""

    customer: CustomerView
    store: Brand
    links: Links
    last_order: OrderView | None = None
    recommended: tuple[ProductView, ...] = ()
    points: PointsView | None = None
    code: CodeView | None = None
    # Free text a store adds to a newsletter or a campaign; plain text, escaped on output.
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def as_variables(self) -> dict[str, object]:
        """The names a template reads: ``customer``, ``store``, ``links`` and so on."""
        return {
            "customer": self.customer,
            "store": self.store,
            "links": self.links,
            "last_order": self.last_order,
            "recommended": self.recommended,
            "points": self.points,
            "code": self.code,
            "note": self.note,
            "extra": self.extra,
        }


def customer_view(first_name: str | None, last_name: str | None, email: str | None) -> CustomerView:
    """A customer as a template sees them, with the graceful fallback for a missing name."""
    name = (first_name or "").strip()
    return CustomerView(
        first_name=name or FALLBACK_FIRST_NAME,
        last_name=(last_name or "").strip(),
        email=(email or "").strip(),
        known_name=bool(name),
    )
