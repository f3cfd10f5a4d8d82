"""Retain's own JSON formats, for platforms other than Shopify (for example a WooCommerce
plugin posting to the generic webhook).

An order is what ``POST /api/v1/orders`` takes (``OrderIn`` in the OpenAPI document):
``number``, ``customer`` {id, email, name, phone, accepts_marketing}, ``placed_at``,
``currency``, amounts as integers of the currency's minor unit, ``discount_codes`` and
``tags`` as lists, and ``lines`` [{sku, title, category, quantity, unit_price,
line_discount}]. A customer has the fields of a customer file. docs/webhooks.md shows both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from retain.domain.money import CURRENCY_EXPONENTS, to_decimal
from retain.ingest.canonical import ParseSpec
from retain.ingest.json_orders import (
    STAMP_FORMAT,
    JsonOrder,
    JsonProfile,
    PayloadError,
    day,
    joined,
    listing,
    mapping,
    stamp,
    text,
)

SPEC = ParseSpec(
    date_format=STAMP_FORMAT,
    required=frozenset({"placed_at", "currency"}),
    labels={"order_key": "number"},
)
_AMOUNTS = ("subtotal", "discounts", "shipping", "tax", "total", "refunded")
_LISTS = ("discount_codes", "tags")


def order(payload: Mapping[str, Any]) -> JsonOrder:
    if text(payload.get("number")) is None:
        raise PayloadError("the order has no 'number'")
    currency = text(payload.get("currency"))
    person = mapping(payload.get("customer"), "customer")
    cells: dict[str, str | None] = {
        "order_key": text(payload["number"]),
        "customer_id": text(person.get("id")),
        "email": text(person.get("email")),
        "name": text(person.get("name")),
        "phone": text(person.get("phone")),
        "accepts_marketing": text(person.get("accepts_marketing")),
        "placed_at": stamp(payload.get("placed_at")),
        "currency": currency,
        "financial_status": text(payload.get("financial_status")),
        "paid_at": stamp(payload.get("paid_at")),
        "cancelled_at": stamp(payload.get("cancelled_at")),
        "source": text(payload.get("source")),
    }
    cells |= {name: _minor(payload.get(name), name, currency) for name in _AMOUNTS}
    cells |= {name: joined(payload.get(name)) for name in _LISTS}
    lines = [_line(mapping(item, "lines"), currency) for item in listing(payload.get("lines"), "lines")]
    return JsonOrder(cells, lines)


def _line(item: Mapping[str, Any], currency: str | None) -> dict[str, str | None]:
    return {
        "sku": text(item.get("sku")),
        "title": text(item.get("title")),
        "category": text(item.get("category")),
        "quantity": text(item.get("quantity")),
        "unit_price": _minor(item.get("unit_price"), "unit_price", currency),
        "line_discount": _minor(item.get("line_discount"), "line_discount", currency),
    }


def _minor(value: object, name: str, currency: str | None) -> str | None:
    """An amount in minor units as the decimal cell a file would hold (1250 USD: 12.50)."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise PayloadError(f"'{name}' must be an integer of minor units (cents), not {value!r}")
    if currency not in CURRENCY_EXPONENTS:
        return str(value)  # the unknown currency is what gets reported
    return str(to_decimal(value, currency))


def customer(payload: Mapping[str, Any]) -> JsonProfile:
    if text(payload.get("id")) is None and text(payload.get("email")) is None:
        raise PayloadError("the customer has no 'id' and no 'email'")
    cells = {
        "customer_id": text(payload.get("id")),
        "email": text(payload.get("email")),
        "name": text(payload.get("name")),
        "first_name": text(payload.get("first_name")),
        "last_name": text(payload.get("last_name")),
        "phone": text(payload.get("phone")),
        "birthday": day(payload.get("birthday")),
        "timezone": text(payload.get("timezone")),
        "accepts_marketing": text(payload.get("accepts_marketing")),
        "created_at": stamp(payload.get("created_at"), strict=True),
    }
    extra = mapping(payload.get("attributes"), "attributes")
    attributes = {str(k): v for k, v in ((k, text(v)) for k, v in extra.items()) if v}
    return JsonProfile(cells, attributes)
