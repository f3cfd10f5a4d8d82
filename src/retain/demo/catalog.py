"""The product list built from the categories, and drawing products and categories from it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from retain.demo.arrays import BoolArray, FloatArray, IntArray
from retain.demo.categories import AFFINITY, AFFINITY_FLOOR, CATEGORIES, CATEGORY_INDEX, CategorySpec
from retain.demo.sampling import draw_stacked, stacked_cumulative

_CATALOG_SEED = 20230101  # the catalog is the same for every seed so demo stores look alike
_ZIPF_EXPONENT = 1.1


@dataclass(frozen=True)
class Catalog:
    titles: tuple[str, ...]
    skus: tuple[str, ...]
    vendors: tuple[str, ...]
    prices: tuple[str, ...]  # "12.50": the same text in the product and the order export
    category: IntArray
    cents: IntArray
    ships: BoolArray
    # Cumulative chances, stacked so that group g occupies (g, g + 1]: see draw_stacked.
    products_by_category: FloatArray
    category_end: IntArray  # one past each category's last product
    lead_category: FloatArray
    next_category: FloatArray

    @property
    def size(self) -> int:
        return len(self.titles)


@dataclass
class _CatalogRows:
    titles: list[str] = field(default_factory=list)
    skus: list[str] = field(default_factory=list)
    vendors: list[str] = field(default_factory=list)
    cents: list[int] = field(default_factory=list)
    category: list[int] = field(default_factory=list)
    weight: list[float] = field(default_factory=list)


def build_catalog() -> Catalog:
    rng = np.random.default_rng(_CATALOG_SEED)
    rows = _CatalogRows()
    for index, spec in enumerate(CATEGORIES):
        _add_category(rows, rng, index, spec)
    category = np.array(rows.category, dtype=np.int64)
    cents = np.array(rows.cents, dtype=np.int64)
    popularity = np.array([spec.popularity for spec in CATEGORIES])
    return Catalog(
        titles=tuple(rows.titles),
        skus=tuple(rows.skus),
        vendors=tuple(rows.vendors),
        prices=tuple(f"{c // 100}.{c % 100:02d}" for c in rows.cents),
        category=category,
        cents=cents,
        ships=np.array([CATEGORIES[c].ships for c in rows.category], dtype=np.bool_),
        products_by_category=stacked_cumulative(np.array(rows.weight), category),
        category_end=np.cumsum(np.bincount(category, minlength=len(CATEGORIES))).astype(np.int64),
        lead_category=stacked_cumulative(popularity, np.zeros(popularity.size, dtype=np.int64)),
        next_category=_affinity_cumulative(),
    )


def _add_category(rows: _CatalogRows, rng: np.random.Generator, index: int, spec: CategorySpec) -> None:
    count = len(spec.products)
    low, high = spec.price_range
    dollars = np.array(spec.fixed_prices) if spec.fixed_prices else rng.integers(low, high + 1, size=count)
    endings = rng.choice(np.array([0, 50, -5]), size=count)  # 18.00, 18.50 or 17.95
    ranks = rng.permutation(count) + 1  # popularity order within the category, Zipf-like
    number = 0
    for i, name in enumerate(spec.products):
        for suffix, price_factor, popularity_factor in spec.sizes:
            number += 1
            rows.titles.append(f"{name} - {suffix}" if suffix else name)
            rows.skus.append(f"{spec.sku_prefix}-{number:03d}")
            rows.vendors.append(spec.vendors[i % len(spec.vendors)])
            ending = 0 if spec.fixed_prices else int(endings[i])
            rows.cents.append(round(float(dollars[i]) * price_factor) * 100 + ending)
            rows.category.append(index)
            rows.weight.append(float(ranks[i]) ** -_ZIPF_EXPONENT * popularity_factor)


def _affinity_cumulative() -> FloatArray:
    size = len(CATEGORIES)
    weights = np.full((size, size), AFFINITY_FLOOR)
    for lead, related in AFFINITY.items():
        for other, weight in related.items():
            weights[CATEGORY_INDEX[lead], CATEGORY_INDEX[other]] += weight
    weights[:, CATEGORY_INDEX["Gift Cards"]] *= 0.2  # an add-on gift card is rare
    return stacked_cumulative(weights.ravel(), np.repeat(np.arange(size, dtype=np.int64), size))


def draw_categories(rng: np.random.Generator, catalog: Catalog, after: IntArray) -> IntArray:
    size = len(CATEGORIES)
    row_ends = (np.arange(size, dtype=np.int64) + 1) * size
    return draw_stacked(rng, catalog.next_category, after, row_ends) - after * size


def draw_lead_categories(rng: np.random.Generator, catalog: Catalog, count: int) -> IntArray:
    groups = np.zeros(count, dtype=np.int64)
    return draw_stacked(rng, catalog.lead_category, groups, np.array([len(CATEGORIES)], dtype=np.int64))


def draw_products(rng: np.random.Generator, catalog: Catalog, category: IntArray) -> IntArray:
    return draw_stacked(rng, catalog.products_by_category, category, catalog.category_end)
