"""How each order is settled: discount codes, shipping, tax, payment, refunds and fulfilment.

Money is integer cents throughout, so the totals add up exactly.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from retain.demo.addresses import STATES
from retain.demo.arrays import BoolArray, Columns, IntArray
from retain.demo.behaviour import Customers
from retain.demo.catalog import Catalog
from retain.demo.orders import Lines, Orders, first_lines
from retain.demo.seasons import DAY, Calendar

CODES: tuple[str | None, ...] = (
    None, "WELCOME10", "BFCM25", "SUMMER15", "HOLIDAY20", "COMEBACK-", "FRIEND-",
)  # fmt: skip
_WELCOME, _BFCM, _SUMMER, _HOLIDAY, _COMEBACK, _FRIEND = range(1, 7)  # indexes into CODES
_CODE_PERCENT = np.array([0, 10, 25, 15, 20, 15, 10], dtype=np.int64)
UNIQUE_CODES = (_COMEBACK, _FRIEND)  # these get a per-order suffix, like codes a marketing tool mints
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_SUFFIX_LENGTH = 6
SOURCES = ("web", "pos", "shopify_draft_order")
_SOURCE_SHARE = (0.90, 0.06, 0.04)
WEB, POS, DRAFT = 0, 1, 2
SOURCE_TAGS: tuple[str | None, ...] = (None, "market-stall", "phone-order")
PAYMENT_METHODS = ("Shopify Payments", "PayPal Express Checkout", "Cash", "Manual")
_CARD, _PAYPAL, _CASH, _MANUAL = range(4)
SHIPPING_METHODS: tuple[str | None, ...] = (None, "Standard Shipping", "Express Shipping", "Free Shipping")
_NOT_SHIPPED, _STANDARD, _EXPRESS, _FREE = range(4)
_STANDARD_SHIPPING, _EXPRESS_SHIPPING = 695, 1495
_FREE_SHIPPING_FROM = 5000  # cents of goods after discount
_EXPRESS_SHARE = 0.08
STATUSES = ("paid", "partially_refunded", "refunded", "voided")
_PAID, _PARTIAL, _REFUNDED, _VOIDED = 0, 1, 2, 3
_CANCEL_SHARE, _REFUND_SHARE, _PARTIAL_SHARE = 0.01, 0.03, 0.02
_NOTE_SHARE = 0.02
NOTES: tuple[str | None, ...] = (
    None, "Please grind for pour-over", "It's a gift - no invoice in the box please",
    "Leave with the front desk", "Happy birthday, Sam!", "Can you pack the tins separately?",
)  # fmt: skip
_ORDER_ID_BASE = 5_600_000_000_000
FIRST_ORDER_NUMBER = 1001


def settle_orders(
    rng: np.random.Generator,
    orders: Orders,
    lines: Lines,
    people: Customers,
    catalog: Catalog,
    calendar: Calendar,
) -> pl.DataFrame:
    """One row per order: every order-level number the export needs, in cents and seconds."""
    source = rng.choice(len(SOURCES), size=orders.count, p=_SOURCE_SHARE).astype(np.int64)
    amounts = _amounts(rng, orders, lines, people, catalog, calendar, source)
    total, shippable = np.asarray(amounts["total"], np.int64), np.asarray(amounts["shippable"], np.bool_)
    lifecycle = _lifecycle(rng, orders, calendar, source, total, shippable)
    online = np.where(rng.random(orders.count) < 0.2, _PAYPAL, _CARD)
    at_the_stall = np.where(rng.random(orders.count) < 0.3, _CASH, _CARD)
    payment = np.select([source == DRAFT, source == POS], [_MANUAL, at_the_stall], online)
    sequence = np.arange(orders.count, dtype=np.int64)
    note = np.where(rng.random(orders.count) < _NOTE_SHARE, rng.integers(1, len(NOTES), orders.count), 0)
    return pl.DataFrame(
        amounts
        | lifecycle
        | {
            "order_number": sequence + FIRST_ORDER_NUMBER,
            "order_id": _ORDER_ID_BASE + sequence * 1000 + rng.integers(0, 1000, orders.count),
            "created": orders.created,
            "source": source,
            "payment": payment,
            "note": note,
        }
    )


def _amounts(
    rng: np.random.Generator,
    orders: Orders,
    lines: Lines,
    people: Customers,
    catalog: Catalog,
    calendar: Calendar,
    source: IntArray,
) -> Columns:
    """Money per order in cents; codes, tax and free shipping apply to goods, not gift cards."""
    starts = first_lines(orders.size)
    gross = lines.quantity * catalog.cents[lines.product] - lines.discount
    subtotal = np.add.reduceat(gross, starts)
    goods = np.add.reduceat(gross * catalog.ships[lines.product], starts)
    code, serial = _discount_codes(rng, orders, calendar)
    discount = (goods * _CODE_PERCENT[code] + 50) // 100
    code = np.where(discount > 0, code, 0)
    method = _shipping_method(rng, goods - discount, goods > 0, source)
    charged = [_STANDARD_SHIPPING, _EXPRESS_SHIPPING]
    shipping = np.select([method == _STANDARD, method == _EXPRESS], charged, 0)
    state = people.frame["state"].to_numpy()[orders.customer]
    rates = np.array([s.tax_basis_points for s in STATES], dtype=np.int64)
    tax = ((goods - discount) * rates[state] + 5000) // 10000
    return {
        "subtotal": subtotal,
        "discount": discount,
        "code": code,
        "code_serial": serial,
        "method": method,
        "shipping": shipping,
        "tax": tax,
        "total": subtotal - discount + shipping + tax,
        "shippable": goods > 0,
    }


def _discount_codes(
    rng: np.random.Generator, orders: Orders, calendar: Calendar
) -> tuple[IntArray, IntArray]:
    """(code index, serial for unique codes) per order; later rules win."""
    day = calendar.day_of(orders.created)
    month, day_of_month = calendar.month[day], calendar.day_of_month[day]
    chance = rng.random(orders.count)
    code = np.zeros(orders.count, dtype=np.int64)
    code[(month >= 6) & (month <= 8) & (chance < 0.06)] = _SUMMER
    code[(month == 12) & (day_of_month <= 20) & (chance < 0.10)] = _HOLIDAY
    code[~orders.first & (chance > 0.97)] = _COMEBACK  # win-back e-mails mint one code per customer
    code[orders.first & (chance < 0.22)] = _WELCOME
    code[orders.first & (chance >= 0.22) & (chance < 0.25)] = _FRIEND  # referral codes
    code[calendar.bfcm[day] & (chance < 0.55)] = _BFCM
    serial = rng.integers(0, len(CODE_ALPHABET) ** CODE_SUFFIX_LENGTH, orders.count)
    return code, serial


def _shipping_method(
    rng: np.random.Generator, goods_after_discount: IntArray, shippable: BoolArray, source: IntArray
) -> IntArray:
    express = rng.random(source.size) < _EXPRESS_SHARE
    return np.select(
        [~shippable | (source == POS), express, goods_after_discount >= _FREE_SHIPPING_FROM],
        [_NOT_SHIPPED, _EXPRESS, _FREE],
        _STANDARD,
    ).astype(np.int64)


def _lifecycle(
    rng: np.random.Generator,
    orders: Orders,
    calendar: Calendar,
    source: IntArray,
    total: IntArray,
    shippable: BoolArray,
) -> Columns:
    """Status, refunds and the paid / fulfilled / cancelled times (-1 when not applicable)."""
    count, created = orders.count, orders.created
    chance = rng.random(count)
    edges = np.cumsum([_CANCEL_SHARE, _REFUND_SHARE, _PARTIAL_SHARE])
    status = np.select(
        [chance < edges[0], chance < edges[1], chance < edges[2]], [_VOIDED, _REFUNDED, _PARTIAL], _PAID
    )
    voided = status == _VOIDED
    partial = np.maximum(1, total * rng.integers(10, 61, count) // 100)
    handed_over = (source == POS) | ~shippable  # no parcel to pack
    packing = np.where(handed_over, rng.integers(0, 120, count), rng.integers(4 * 3600, 3 * DAY, count))
    fulfilled = created + packing
    return {
        "status": status.astype(np.int64),
        "refunded": np.select([status == _REFUNDED, status == _PARTIAL], [total, partial], 0),
        "paid_at": np.where(voided, -1, created + rng.integers(30, 600, count)),
        "cancelled_at": np.where(voided, created + rng.integers(600, 36 * 3600, count), -1),
        "fulfilled_at": np.where(voided | (fulfilled >= calendar.end_second), -1, fulfilled),
    }
