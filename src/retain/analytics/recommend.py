"""Products a customer is likely to want next, from what customers buy together.

Item-to-item collaborative filtering: for products i and j, the share of i's buyers who
also bought j ("customers who bought this also bought"). A customer's score for j sums
that share over the products i they bought. On the demo store this beats the cosine of
the products' buyer sets, which discounts the popular products people do buy next.
Products they already bought are left out (the seeds ask for something
new to try), and so are products nobody bought in the last ``still_sold_days`` (no longer
sold). Where history says nothing (a new customer, or too few co-purchases), the most
popular products still sold fill the list.

``evaluate`` judges this on a temporal holdout: learn from purchases before a cutoff, then,
for each customer who bought something new in the next days, count a hit when one of the
top k was among it; the named baseline is the most popular products of the same period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy import sparse

Ids = npt.NDArray[np.int64]


BLOCK = 256  # customers scored together: a block of scores is BLOCK x products floats


class Recommender:
    """``fit(purchases, as_of)`` learns who bought what (``bought_``) and how many bought
    each product (``popularity_``).

    The product-by-product share matrix is never built: a grocery store's customers buy
    hundreds of distinct products each, which makes it hundreds of millions of entries. A
    block of customers' scores is computed through customer space instead,
    ``(H / buyers) @ bought.T @ bought``, which gives the same numbers."""

    def __init__(self, still_sold_days: int = 180) -> None:
        self.still_sold_days = still_sold_days

    def fit(self, purchases: pa.Table, as_of: datetime) -> Self:
        """``purchases``: customer_id, placed_at (naive UTC) and product_id; later ones are ignored."""
        placed = purchases["placed_at"].to_numpy(zero_copy_only=False).astype("datetime64[us]")
        keep = placed <= np.datetime64(as_of.replace(tzinfo=None), "us")
        if not keep.any():
            raise ValueError(f"no purchases up to {as_of:%Y-%m-%d} to learn from")
        customers = purchases["customer_id"].to_numpy(zero_copy_only=False)[keep]
        products = purchases["product_id"].to_numpy(zero_copy_only=False)[keep]
        self.products_, product_index = np.unique(products, return_inverse=True)
        self.customers_, customer_index = np.unique(customers, return_inverse=True)
        bought = sparse.csr_matrix(
            (np.ones(customer_index.size), (customer_index, product_index)),
            shape=(self.customers_.size, self.products_.size),
        )
        bought.data[:] = 1.0  # bought at all, however often
        self.bought_ = bought
        self._bought_t = sparse.csr_matrix(bought.T)
        buyers = np.asarray(bought.sum(axis=0)).ravel()
        self._per_buyer = sparse.diags(1 / np.maximum(buyers, 1.0))
        since = np.datetime64(as_of.replace(tzinfo=None) - timedelta(days=self.still_sold_days), "us")
        recent = placed[keep] > since
        self.still_sold_ = np.zeros(self.products_.size, dtype=bool)
        self.still_sold_[np.unique(product_index[recent])] = True
        self.popularity_ = buyers
        return self

    def recommend(self, customer_ids: Ids, k: int = 5) -> list[Ids]:
        """Up to ``k`` product ids for each customer, best first."""
        out: list[Ids] = []
        rows = self._rows(customer_ids)
        nothing = np.zeros(self.products_.size)
        for start in range(0, rows.size, BLOCK):
            block = rows[start : start + BLOCK]
            known = block[block >= 0]
            history = self.bought_[known]
            # Score of j: the sum over the products i a customer bought of the share of i's
            # buyers who also bought j. j's own term is zero unless j is owned, and owned
            # products are left out anyway.
            scores = ((history @ self._per_buyer) @ self._bought_t @ self.bought_).toarray()
            owned = history.toarray() > 0
            position = 0
            for row in block:
                if row < 0:
                    out.append(self._top(nothing, np.zeros(self.products_.size, bool), k))
                    continue
                out.append(self._top(scores[position], owned[position], k))
                position += 1
        return out

    def _rows(self, customer_ids: Ids) -> npt.NDArray[np.intp]:
        """Each customer's row in ``bought_``, or -1 for a customer without purchases."""
        rows = np.searchsorted(self.customers_, customer_ids)
        clipped = np.minimum(rows, self.customers_.size - 1)
        return np.where(self.customers_[clipped] == customer_ids, clipped, -1)

    def popular(self, customer_ids: Ids, k: int = 5) -> list[Ids]:
        """The baseline: the most-bought products still sold that each customer lacks."""
        out: list[Ids] = []
        for row in self._rows(customer_ids):
            owned = (
                self.bought_[row].toarray().ravel() > 0 if row >= 0 else np.zeros(self.products_.size, bool)
            )
            out.append(self._top(np.zeros(self.products_.size), owned, k))
        return out

    def _top(self, scores: npt.NDArray[np.float64], owned: npt.NDArray[np.bool_], k: int) -> Ids:
        # Ranked by score, ties (and customers with no signal) by popularity.
        order = np.lexsort((-self.popularity_, -scores))
        allowed = order[self.still_sold_[order] & ~owned[order]]
        return np.asarray(self.products_[allowed[:k]], dtype=np.int64)


@dataclass(frozen=True)
class Evaluation:
    cutoff: datetime
    holdout_days: int
    k: int
    customers: int  # customers with history who bought something new in the holdout
    hit_rate: float
    hit_rate_popular: float


def evaluate(purchases: pa.Table, cutoff: datetime, holdout_days: int = 90, k: int = 5) -> Evaluation:
    """Hit rate at ``k`` of the recommender and of the most-popular baseline on a temporal holdout."""
    model = Recommender().fit(purchases, cutoff)
    placed = purchases["placed_at"].to_numpy(zero_copy_only=False).astype("datetime64[us]")
    start = np.datetime64(cutoff.replace(tzinfo=None), "us")
    after = (placed > start) & (placed <= start + np.timedelta64(holdout_days, "D"))
    customers = purchases["customer_id"].to_numpy(zero_copy_only=False)[after]
    products = purchases["product_id"].to_numpy(zero_copy_only=False)[after]
    rows = model._rows(customers)
    columns = np.minimum(np.searchsorted(model.products_, products), model.products_.size - 1)
    known = (rows >= 0) & (model.products_[columns] == products)
    owned = np.zeros(customers.size, dtype=bool)
    owned[known] = np.asarray(model.bought_[rows[known], columns[known]]).ravel() > 0
    wanted: dict[int, set[int]] = {}
    # Customers new at the cutoff have nothing to learn from yet; what a customer owned
    # already is no discovery.
    for customer, product in zip(
        customers[(rows >= 0) & ~owned].tolist(), products[(rows >= 0) & ~owned].tolist(), strict=True
    ):
        wanted.setdefault(customer, set()).add(product)
    ids = np.array(sorted(wanted), dtype=np.int64)
    if ids.size == 0:
        raise ValueError(
            f"nobody with earlier orders bought anything new in the {holdout_days} days "
            f"after {cutoff:%Y-%m-%d}"
        )
    hits = [bool(set(r.tolist()) & wanted[int(c)]) for c, r in zip(ids, model.recommend(ids, k), strict=True)]
    popular = [
        bool(set(r.tolist()) & wanted[int(c)]) for c, r in zip(ids, model.popular(ids, k), strict=True)
    ]
    return Evaluation(cutoff, holdout_days, k, int(ids.size), float(np.mean(hits)), float(np.mean(popular)))
