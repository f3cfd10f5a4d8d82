"""Recommendations: bought-together picks on hand-made baskets, and on a generated store
against the best-sellers baseline."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from retain.analytics.engine import PURCHASES_SCHEMA, read_purchases
from retain.analytics.recommend import Recommender, evaluate
from retain.bootstrap import bootstrap
from retain.cli import app as cli_app
from retain.demo.generator import generate_store
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders

AS_OF = datetime(2025, 6, 30, tzinfo=UTC)
MUG, TEA, FILTER, DRIPPER, OLD = 1, 2, 3, 4, 5


def _purchases(rows: list[tuple[int, int, int]]) -> pa.Table:
    """(customer, days before AS_OF, product) triples."""
    base = np.datetime64(AS_OF.replace(tzinfo=None), "us")
    return pa.table(
        {
            "customer_id": [c for c, _, _ in rows],
            "placed_at": [base - np.timedelta64(days, "D") for _, days, _ in rows],
            "product_id": [p for _, _, p in rows],
        },
        schema=PURCHASES_SCHEMA,
    )


BASKETS = _purchases(
    [(c, 30, DRIPPER) for c in range(1, 6)]  # dripper buyers all bought filters too
    + [(c, 20, FILTER) for c in range(1, 6)]
    + [(c, 10, TEA) for c in range(6, 16)]  # tea sells most, to other customers
    + [(c, 15, MUG) for c in range(6, 9)]
    + [(16, 400, OLD), (17, 400, OLD), (18, 400, OLD)]  # not sold for a year
    + [(20, 5, DRIPPER)]
)


def test_a_customer_gets_what_buyers_of_their_products_bought_next() -> None:
    model = Recommender(still_sold_days=180).fit(BASKETS, AS_OF)
    (picks,) = model.recommend(np.array([20]), k=2)
    assert picks[0] == FILTER  # every other dripper buyer bought filters
    assert DRIPPER not in picks  # already theirs


def test_products_no_longer_sold_are_never_suggested_and_newcomers_get_best_sellers() -> None:
    model = Recommender(still_sold_days=180).fit(BASKETS, AS_OF)
    newcomer, old_buyer = model.recommend(np.array([99, 16]), k=10)
    assert list(newcomer[:2]) == [TEA, DRIPPER]  # by number of buyers
    assert OLD not in newcomer
    assert OLD not in old_buyer
    assert set(newcomer) == {TEA, DRIPPER, FILTER, MUG}


def test_nothing_to_learn_from_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="no purchases up to 2024-01-01"):
        Recommender().fit(BASKETS, datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="no purchases up to"):
        evaluate(BASKETS, datetime(2024, 1, 1, tzinfo=UTC))


def test_later_purchases_are_not_learned_from() -> None:
    model = Recommender().fit(BASKETS, AS_OF - timedelta(days=25))
    assert TEA not in model.products_.tolist()  # tea sold only in the last 10 days


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder: Path = tmp_path_factory.mktemp("recommend")
    # The demo's own store: `retain demo` generates it with these settings.
    store = generate_store(
        folder / "files", customers=5000, seed=7, start=date(2023, 1, 1), end=date(2025, 12, 31)
    )
    url = f"sqlite:///{folder / 'store.db'}"
    app = bootstrap(url)
    import_orders(read_orders(store.orders_csv), app.unit_of_work())
    app.close()
    return url


@pytest.mark.parametrize(
    "cutoff", [date(2024, 12, 31), date(2025, 3, 31), date(2025, 6, 30), date(2025, 10, 2)]
)
def test_bought_together_beats_best_sellers_on_the_generated_store(store_url: str, cutoff: date) -> None:
    report = evaluate(read_purchases(store_url), datetime.combine(cutoff, datetime.min.time(), UTC), 90, 5)
    assert report.customers > 100
    assert report.hit_rate > report.hit_rate_popular


def test_the_cli_names_products_and_reports_the_holdout(cli: CliRunner, store_url: str) -> None:
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as connection:
        (EMAIL,) = connection.execute("SELECT email FROM customers ORDER BY id LIMIT 1").fetchone()
    result = cli.invoke(
        cli_app, ["recommend", "--customer", EMAIL, "--evaluate", "--json", "--db", store_url]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["recommendations"][EMAIL]) == 5
    assert data["evaluation"]["hit_rate"] > data["evaluation"]["hit_rate_popular"]
    missing = cli.invoke(cli_app, ["recommend", "--customer", "NOBODY", "--db", store_url])
    assert missing.exit_code == 2
    assert "no customer with external id or email NOBODY" in " ".join(missing.output.split())
