"""Shopify's order, refund and customer JSON (its webhooks' payloads) as the cells of its
exports, so a webhook's order is written exactly as the same order in an order export.

The order's ``id`` is its key, as the export's Id column is; amounts are the shop's
currency (``total_price`` and friends, not the presentment ones); the customer is keyed by
Shopify's customer id, as the customer export's Customer ID column is, or by e-mail for a
guest. A refund's amount is what its successful refund transactions paid back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from retain.ingest.canonical import ParseSpec
from retain.ingest.json_orders import (
    STAMP_FORMAT,
    JsonOrder,
    JsonProfile,
    PayloadError,
    amount,
    joined,
    listing,
    mapping,
    stamp,
    text,
)

# Where each field comes from, so a rejection names the payload's own field.
LABELS = {
    "order_key": "id", "placed_at": "created_at", "currency": "currency", "subtotal": "subtotal_price",
    "discounts": "total_discounts", "shipping": "total_shipping_price_set", "tax": "total_tax",
    "total": "total_price", "refunded": "refunds", "financial_status": "financial_status",
    "paid_at": "processed_at", "cancelled_at": "cancelled_at", "accepts_marketing": "email_marketing_consent",
    "title": "line_items.name", "quantity": "line_items.quantity", "unit_price": "line_items.price",
    "line_discount": "line_items.total_discount", "sku": "line_items.sku",
}  # fmt: skip
SPEC = ParseSpec(
    date_format=STAMP_FORMAT,
    required=frozenset({"placed_at", "currency", "total", "title", "quantity", "unit_price"}),
    labels=LABELS,
)
# Statuses of an order whose payment went through: its processing time is when it was paid.
PAID = frozenset({"paid", "partially_paid", "partially_refunded", "refunded"})
_SAYS_NO = frozenset({"unsubscribed", "not_subscribed", "redacted", "invalid"})


@dataclass(frozen=True)
class Refund:
    refund_id: str
    order_key: str
    amount: Decimal
    currency: str | None  # None when no money moved


def order(payload: Mapping[str, Any]) -> JsonOrder:
    """An ``orders/*`` payload as an order export's cells."""
    if text(payload.get("id")) is None:
        raise PayloadError("the order has no id")
    customer = mapping(payload.get("customer"), "customer")
    billing = mapping(payload.get("billing_address"), "billing_address")
    status = text(payload.get("financial_status"))
    currency = text(payload.get("currency"))
    cells = {
        "order_key": text(payload["id"]),
        "customer_id": text(customer.get("id")),
        "email": text(payload.get("email"))
        or text(payload.get("contact_email"))
        or text(customer.get("email")),
        "name": _full_name(customer) or text(billing.get("name")),
        "phone": text(customer.get("phone")) or text(payload.get("phone")) or text(billing.get("phone")),
        "accepts_marketing": consent(customer) or _flag(payload.get("buyer_accepts_marketing")),
        "placed_at": stamp(payload.get("created_at")),
        "currency": currency,
        "subtotal": amount(payload.get("subtotal_price")),
        "discounts": amount(payload.get("total_discounts")),
        "shipping": _shipping(payload),
        "tax": amount(payload.get("total_tax")),
        "total": amount(payload.get("total_price")),
        "refunded": _refunded(payload, currency),
        "financial_status": status,
        "paid_at": stamp(payload.get("processed_at")) if status in PAID else None,
        "cancelled_at": stamp(payload.get("cancelled_at")),
        "discount_codes": joined(
            [mapping(c, "discount_codes").get("code") for c in _list(payload, "discount_codes")]
        ),
        "tags": text(payload.get("tags")),
        "source": text(payload.get("source_name")),
    }
    return JsonOrder(cells, [_line(mapping(item, "line_items")) for item in _list(payload, "line_items")])


def _line(item: Mapping[str, Any]) -> dict[str, str | None]:
    discount = item.get("total_discount")
    if discount is None:  # older payloads: only the allocations
        allocations = [
            mapping(a, "discount_allocations")
            for a in listing(item.get("discount_allocations"), "discount_allocations")
        ]
        discount = sum((_decimal(a.get("amount")) for a in allocations), Decimal(0)) if allocations else None
    return {
        "sku": text(item.get("sku")),
        "title": text(item.get("name")) or text(item.get("title")),
        "quantity": text(item.get("quantity")),
        "unit_price": amount(item.get("price")),
        "line_discount": amount(discount),
    }


def refunds_in(payload: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """The order's refunds: (refund id, the refund as JSON)."""
    found = []
    for refund in _list(payload, "refunds"):
        ident = text(mapping(refund, "refunds").get("id"))
        if ident is not None:
            found.append((ident, json.dumps(refund, default=str, separators=(",", ":")).encode()))
    return found


def refund(payload: Mapping[str, Any]) -> Refund:
    """A ``refunds/create`` payload: which order, and how much money went back."""
    ident, order_key = text(payload.get("id")), text(payload.get("order_id"))
    if ident is None or order_key is None:
        raise PayloadError("the refund has no id or no order_id")
    total, currency = Decimal(0), None
    for paid, code in _refund_payments(payload):
        if currency is not None and code is not None and code != currency:
            raise PayloadError(f"refund transactions in both {currency} and {code}")
        total += paid
        currency = currency or code
    return Refund(ident, order_key, total, currency)


def customer(payload: Mapping[str, Any]) -> JsonProfile:
    """A ``customers/*`` payload as a customer export's row; its tags and note become
    attributes, named as the export's columns are."""
    if text(payload.get("id")) is None and text(payload.get("email")) is None:
        raise PayloadError("the customer has no id and no e-mail")
    cells = {
        "customer_id": text(payload.get("id")),
        "email": text(payload.get("email")),
        "first_name": text(payload.get("first_name")),
        "last_name": text(payload.get("last_name")),
        "phone": text(payload.get("phone")),
        "accepts_marketing": consent(payload),
        "created_at": stamp(payload.get("created_at"), strict=True),
    }
    attributes = {
        k: v for k, v in (("Tags", text(payload.get("tags"))), ("Note", text(payload.get("note")))) if v
    }
    return JsonProfile(cells, attributes)


def consent(person: Mapping[str, Any]) -> str | None:
    """yes/no from ``email_marketing_consent`` (or the older ``accepts_marketing``); a
    pending double opt-in is no statement yet."""
    state = mapping(person.get("email_marketing_consent"), "email_marketing_consent").get("state")
    if isinstance(state, str):
        state = state.strip().lower()
        if state == "subscribed":
            return "yes"
        return "no" if state in _SAYS_NO else None
    return _flag(person.get("accepts_marketing"))


def _flag(value: object) -> str | None:
    return ("yes" if value else "no") if isinstance(value, bool) else None


def _full_name(person: Mapping[str, Any]) -> str | None:
    parts = [text(person.get("first_name")), text(person.get("last_name"))]
    return " ".join(p for p in parts if p) or None


def _list(payload: Mapping[str, Any], name: str) -> list[Any]:
    return listing(payload.get(name), name)


def _decimal(value: object) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PayloadError(f"unreadable amount '{value}'") from None


def _shop_money(container: Mapping[str, Any], name: str) -> tuple[Decimal, str | None] | None:
    money = mapping(mapping(container.get(name), name).get("shop_money"), "shop_money")
    if money.get("amount") is None:
        return None
    return _decimal(money["amount"]), text(money.get("currency_code"))


def _shipping(payload: Mapping[str, Any]) -> str | None:
    found = _shop_money(payload, "total_shipping_price_set")
    if found is not None:
        return str(found[0])
    lines = [mapping(s, "shipping_lines") for s in _list(payload, "shipping_lines")]
    if not lines:
        return None
    return str(sum((_decimal(s.get("price", 0)) for s in lines), Decimal(0)))


def _refund_payments(refund: Mapping[str, Any]) -> list[tuple[Decimal, str | None]]:
    """(amount, currency) of each successful refund transaction, in the shop's money when
    the transaction says what that was."""
    paid = []
    for item in _list(refund, "transactions"):
        transaction = mapping(item, "transactions")
        if text(transaction.get("kind")) != "refund" or text(transaction.get("status")) != "success":
            continue
        shop = _shop_money(transaction, "amount_set")
        paid.append(shop or (_decimal(transaction.get("amount")), text(transaction.get("currency"))))
    return paid


def _refunded(payload: Mapping[str, Any], currency: str | None) -> str | None:
    """Everything the order's refunds paid back, at most its total; transactions in another
    currency than the order's cannot be added up and are left out."""
    refunds = [mapping(r, "refunds") for r in _list(payload, "refunds")]
    if not refunds:
        return None
    back = sum(
        (paid for r in refunds for paid, code in _refund_payments(r) if code in (None, currency)),
        Decimal(0),
    )
    total = payload.get("total_price")
    if total is not None:
        back = min(back, _decimal(total))
    return str(back)
