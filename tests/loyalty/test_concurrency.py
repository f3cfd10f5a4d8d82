"""Fifty redemptions at once against a balance that covers ten: exactly ten succeed.

Each redemption runs on its own engine, so each holds its own database connection, and all
fifty are released together by a barrier. On PostgreSQL they really run side by side and
queue on the account's row lock; on SQLite they queue on the write lock.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from retain.bootstrap import App
from retain.domain.loyalty import InsufficientPoints
from retain.service import loyalty
from retain.store.tables import discount_codes, loyalty_ledger
from tests.loyalty.conftest import NOW, Shop

ATTEMPTS = 50


def test_fifty_parallel_redemptions_of_a_balance_for_ten_succeed_ten_times(shop: Shop) -> None:
    ana = shop.customer("ana@example.com")
    shop.give(ana, 10 * 500)  # ten "five-off" rewards
    barrier = threading.Barrier(ATTEMPTS)

    def attempt(n: int) -> str:
        app = App(shop.app.url)  # its own engine, so its own connection
        try:
            barrier.wait()
            loyalty.redeem(shop.program, app.unit_of_work, ana, "five-off", NOW, request=f"attempt-{n}")
            return "redeemed"
        except InsufficientPoints:
            return "short"
        finally:
            app.close()

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        outcomes = list(pool.map(attempt, range(ATTEMPTS)))

    assert outcomes.count("redeemed") == 10
    assert outcomes.count("short") == 40
    assert shop.balances(ana) == (0, 0)
    with shop.app.engine.connect() as connection:
        redeemed = connection.execute(
            select(func.count()).where(loyalty_ledger.c.kind == "redeem", loyalty_ledger.c.customer_id == ana)
        ).scalar_one()
        issued = connection.execute(
            select(func.count()).where(discount_codes.c.customer_id == ana)
        ).scalar_one()  # fmt: skip
        afters = connection.execute(
            select(loyalty_ledger.c.balance_after).order_by(loyalty_ledger.c.id)
        ).scalars().all()  # fmt: skip
    assert redeemed == issued == 10
    assert afters == list(range(5_000, -1, -500))  # every entry saw the balance the last one left
