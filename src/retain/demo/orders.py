"""Orders and their line items: when each order is placed and what goes into it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from retain.demo.arrays import BoolArray, IntArray
from retain.demo.behaviour import Customers, purchases
from retain.demo.catalog import Catalog, draw_categories, draw_lead_categories, draw_products
from retain.demo.categories import CONSUMABLES
from retain.demo.seasons import Calendar

_LINE_COUNT_SHARE = (0.56, 0.28, 0.11, 0.05)  # 1, 2, 3 or 4 line items
_QUANTITY_SHARE = (0.80, 0.15, 0.05)  # 1, 2 or 3 of an item
_STAPLE_SHARE = 0.35  # orders led by the customer's usual product: coffee is a replenishment purchase
_FAVOURITE_SHARE = 0.55  # orders (not led by the staple) led by one of the customer's favourite categories
_BULK_DISCOUNT_PERCENT = 10  # three bags of the same coffee or tea


@dataclass(frozen=True)
class Orders:
    customer: IntArray  # sorted by ``created``
    created: IntArray  # local wall-clock seconds since 1970
    first: BoolArray  # the customer's first order
    size: IntArray  # line items

    @property
    def count(self) -> int:
        return int(self.customer.size)

    def head(self, count: int) -> Orders:
        return Orders(self.customer[:count], self.created[:count], self.first[:count], self.size[:count])


@dataclass(frozen=True)
class Lines:
    order: IntArray  # position of the order in Orders, non-decreasing
    product: IntArray
    quantity: IntArray
    discount: IntArray  # cents

    @property
    def count(self) -> int:
        return int(self.order.size)


def simulate_orders(
    rng: np.random.Generator, people: Customers, calendar: Calendar, max_line_items: int | None
) -> Orders:
    customer, operational = purchases(rng, people, calendar.span)
    created = calendar.wall_clock(rng, operational)
    by_time = np.argsort(created, kind="stable")
    customer, created = customer[by_time], created[by_time]
    first = np.zeros(customer.size, dtype=np.bool_)
    first[np.unique(customer, return_index=True)[1]] = True
    size = rng.choice(len(_LINE_COUNT_SHARE), size=customer.size, p=_LINE_COUNT_SHARE).astype(np.int64) + 1
    orders = Orders(customer, created, first, size)
    if max_line_items is None:
        return orders
    # Some lines are dropped as duplicates later, so keep a little more than asked for now.
    return orders.head(_orders_within(size, int(max_line_items * 1.1) + 8))


def _orders_within(size: IntArray, line_items: int) -> int:
    """How many leading orders fit in ``line_items`` lines, counting whole orders only."""
    return int(np.searchsorted(np.cumsum(size), line_items, side="right"))


def fill_orders(
    rng: np.random.Generator,
    orders: Orders,
    people: Customers,
    catalog: Catalog,
    max_line_items: int | None,
) -> tuple[Orders, Lines]:
    """Products for every order: the lead item, then add-ons from related categories."""
    owner = np.repeat(np.arange(orders.count, dtype=np.int64), orders.size)
    lead = _lead_products(rng, orders.customer, people, catalog)
    product = draw_products(rng, catalog, draw_categories(rng, catalog, catalog.category[lead][owner]))
    product[first_lines(orders.size)] = lead
    owner, product = _without_repeats(owner, product, catalog.size)
    size = np.bincount(owner, minlength=orders.count).astype(np.int64)
    orders = Orders(orders.customer, orders.created, orders.first, size)
    if max_line_items is not None:
        orders = orders.head(_orders_within(orders.size, max_line_items))
        owner, product = owner[: orders.size.sum()], product[: orders.size.sum()]
    quantity = rng.choice(len(_QUANTITY_SHARE), size=owner.size, p=_QUANTITY_SHARE).astype(np.int64) + 1
    quantity[~catalog.ships[product]] = 1  # one gift card at a time
    bulk = (quantity == 3) & np.isin(catalog.category[product], CONSUMABLES)
    discount = np.where(bulk, (quantity * catalog.cents[product] * _BULK_DISCOUNT_PERCENT + 50) // 100, 0)
    return orders, Lines(owner, product, quantity, discount)


def _without_repeats(owner: IntArray, product: IntArray, products: int) -> tuple[IntArray, IntArray]:
    """Drop a product's second row in the same order: a shop would show one row, quantity two."""
    keep = np.zeros(owner.size, dtype=np.bool_)
    keep[np.unique(owner * products + product, return_index=True)[1]] = True  # first occurrences
    return owner[keep], product[keep]


def _lead_products(
    rng: np.random.Generator, customer: IntArray, people: Customers, catalog: Catalog
) -> IntArray:
    """The first item of each order: the customer's staple, a favourite category, or anything."""
    count = customer.size
    favourite = people.favourite[customer]
    use_second = (rng.random(count) < 0.4) & (favourite[:, 1] >= 0)
    loved = np.where(use_second, favourite[:, 1], favourite[:, 0])
    anything = draw_lead_categories(rng, catalog, count)
    category = np.where(rng.random(count) < _FAVOURITE_SHARE, loved, anything)
    product = draw_products(rng, catalog, category)
    return np.where(rng.random(count) < _STAPLE_SHARE, people.staple[customer], product)


def first_lines(size: IntArray) -> IntArray:
    """Each order's first line, given how many lines every order has."""
    return np.cumsum(size) - size
