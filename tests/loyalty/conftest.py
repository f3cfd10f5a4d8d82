"""A store written row by row, so each loyalty test states exactly the orders it needs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from retain.bootstrap import App
from retain.domain.loyalty import Program
from retain.loyalty.program import default_program
from retain.service import loyalty
from retain.store.tables import customers, loyalty_accounts, order_lines, orders, products

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


@dataclass
class Shop:
    app: App
    program: Program = field(default_factory=default_program)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    def customer(
        self,
        email: str,
        *,
        phone: str | None = None,
        consent: bool = True,
        birthday: date | None = None,
        created_at: datetime | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> int:
        with self.app.engine.begin() as connection:
            return int(
                connection.execute(
                    insert(customers).returning(customers.c.id),
                    {
                        "external_id": email, "email": email, "name": email.split("@")[0], "phone": phone,
                        "marketing_consent": consent, "birthday": birthday,
                        "created_at": created_at or NOW - timedelta(days=400), "attributes": attributes or {},
                    },
                ).scalar_one()
            )  # fmt: skip

    def order(
        self,
        customer_id: int,
        placed_at: datetime,
        goods: int = 10_000,
        *,
        discounts: int = 0,
        shipping: int = 500,
        tax: int = 800,
        status: str = "paid",
        refunded: int = 0,
        cancelled_at: datetime | None = None,
        lines: list[tuple[str, str, int]] = (),  # type: ignore[assignment]
    ) -> int:
        """An order of ``goods`` minor units before discounts; ``lines`` as (sku, category, value)."""
        number = next(self._numbers)
        total = goods - discounts + shipping + tax
        with self.app.engine.begin() as connection:
            order_id = int(
                connection.execute(
                    insert(orders).returning(orders.c.id),
                    {
                        "external_id": f"#{number}", "customer_id": customer_id, "placed_at": placed_at,
                        "currency": "USD", "subtotal": goods, "discounts": discounts, "shipping": shipping,
                        "tax": tax, "total": total, "refunded": refunded, "financial_status": status,
                        "paid_at": None if status == "pending" else placed_at, "cancelled_at": cancelled_at,
                        "item_count": max(len(lines), 1), "content_hash": f"{number:032d}",
                    },
                ).scalar_one()
            )  # fmt: skip
            for position, (sku, category, value) in enumerate(lines):
                product = connection.execute(select(products.c.id).where(products.c.key == sku)).scalar()
                if product is None:
                    product = connection.execute(
                        insert(products).returning(products.c.id),
                        {"key": sku, "sku": sku, "title": sku, "category": category},
                    ).scalar_one()
                connection.execute(
                    insert(order_lines),
                    {
                        "order_id": order_id, "position": position, "product_id": product, "sku": sku,
                        "title": sku, "quantity": 1, "unit_price": value, "line_discount": 0,
                    },
                )  # fmt: skip
        return order_id

    def refund(self, order_id: int, amount: int) -> None:
        with self.app.engine.begin() as connection:
            connection.execute(
                update(orders)
                .where(orders.c.id == order_id)
                .values(refunded=amount, financial_status="refunded")
            )

    def cancel(self, order_id: int, at: datetime) -> None:
        with self.app.engine.begin() as connection:
            connection.execute(update(orders).where(orders.c.id == order_id).values(cancelled_at=at))

    def sync(self, now: datetime = NOW) -> loyalty.SyncReport:
        return loyalty.sync(self.program, self.app.unit_of_work, now)

    def account(self, customer_id: int) -> dict[str, Any]:
        with self.app.unit_of_work() as uow:
            found = uow.loyalty.account(customer_id)
        assert found is not None, f"customer {customer_id} has no account"
        return found

    def balances(self, customer_id: int) -> tuple[int, int]:
        """(balance, pending), checked against the sums over the ledger."""
        account = self.account(customer_id)
        with self.app.unit_of_work() as uow:
            assert uow.loyalty.ledger_sums(customer_id) == (account["balance"], account["pending"])
        return account["balance"], account["pending"]

    def history(self, customer_id: int) -> list[dict[str, Any]]:
        with self.app.unit_of_work() as uow:
            return list(reversed(uow.loyalty.history(customer_id)))

    def give(self, customer_id: int, points: int) -> None:
        loyalty.adjust(self.program, self.app.unit_of_work, customer_id, points, "test credit", NOW)

    def set_balance_column(self, customer_id: int, **values: Any) -> None:
        with self.app.engine.begin() as connection:
            connection.execute(
                update(loyalty_accounts).where(loyalty_accounts.c.customer_id == customer_id).values(**values)
            )


@pytest.fixture
def shop(app: App) -> Shop:
    return Shop(app)
