"""A small store for the API tests, written through the store's own use cases where they
exist, and clients of the API holding an API key or a signed-in session."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert

from retain.bootstrap import App
from retain.domain.feedback import Triage
from retain.domain.surveys import answer
from retain.service import access
from retain.service import feedback as service
from retain.store.tables import customers, messages, orders
from retain.web.app import create_app

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """The error object of ``response``, checked: its status, its code, a message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def unhappy(texts: Sequence[str]) -> list[Triage]:
    """A classifier that reads every text as a late delivery, without training one."""
    return [Triage("delivery_shipping", "negative", False, False) for _ in texts]


@dataclass
class ApiShop:
    app: App
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        self.app.now = lambda: NOW

    def customer(self, email: str | None, name: str | None = None, *, consent: bool | None = True) -> int:
        with self.app.engine.begin() as connection:
            return int(
                connection.execute(
                    insert(customers).returning(customers.c.id),
                    {"external_id": email or f"anon-{next(self._numbers)}", "email": email, "name": name,
                     "marketing_consent": consent, "created_at": NOW - timedelta(days=400), "attributes": {}},
                ).scalar_one()
            )  # fmt: skip

    def order(
        self,
        customer_id: int,
        placed_at: datetime,
        total: int = 5_000,
        *,
        status: str = "paid",
        cancelled: bool = False,
    ) -> int:
        number = next(self._numbers)
        with self.app.engine.begin() as connection:
            return int(
                connection.execute(
                    insert(orders).returning(orders.c.id),
                    {"external_id": f"#{number}", "customer_id": customer_id, "placed_at": placed_at,
                     "currency": "USD", "subtotal": total, "discounts": 0, "shipping": 0, "tax": 0,
                     "total": total, "refunded": 0, "financial_status": status, "paid_at": placed_at,
                     "cancelled_at": placed_at if cancelled else None, "item_count": 1,
                     "content_hash": f"{number:032d}"},
                ).scalar_one()
            )  # fmt: skip

    def message(self, customer_id: int, template: str = "winback", status: str = "sent") -> None:
        with self.app.engine.begin() as connection:
            connection.execute(
                insert(messages),
                {"key": f"m:{next(self._numbers)}", "customer_id": customer_id, "template": template,
                 "topic": "marketing", "channel": "email", "address": None, "status": status, "detail": "",
                 "attempts": 1, "flow": None, "created_at": NOW - timedelta(days=1)},
            )  # fmt: skip

    def complaint(self, customer_id: int, text: str = "My parcel never came") -> service.Received:
        incoming = service.Incoming(ref=f"complaint:{next(self._numbers)}", source="complaint", text=text,
                                    customer_id=customer_id)  # fmt: skip
        return service.receive(incoming, session=self.app.unit_of_work, classify=unhappy, now=NOW)

    def nps(self, customer_id: int, score: int) -> service.Received:
        given = answer("nps", score, "fine")
        incoming = service.Incoming(ref=f"survey:{next(self._numbers)}", source="survey", text=given.text,
                                    customer_id=customer_id, answer=given)  # fmt: skip
        return service.receive(incoming, session=self.app.unit_of_work, classify=unhappy, now=NOW)

    def key(self, *scopes: str, name: str = "integration") -> tuple[int, str]:
        made, secret = access.create_key(self.app.unit_of_work, name, list(scopes), NOW)
        return made.id, secret

    def client(self, *scopes: str, **options: Any) -> TestClient:
        """A client sending an API key with ``scopes``."""
        _, secret = self.key(*scopes)
        client = TestClient(create_app(self.app), **options)
        client.headers["Authorization"] = f"Bearer {secret}"
        return client

    def seed(self) -> dict[str, int]:
        """A few customers with orders, messages, feedback and a ticket; their ids by name."""
        ann = self.customer("ann@example.com", "Ann Archer")
        bob = self.customer("bob@example.com", "Bob Baker", consent=False)
        eve = self.customer("eve@example.com", "<script>alert(1)</script>")
        for days in (300, 200, 30):
            self.order(ann, NOW - timedelta(days=days))
        self.order(bob, NOW - timedelta(days=100), 12_000)
        self.order(eve, NOW - timedelta(days=10), 3_000, status="refunded")
        self.order(eve, NOW - timedelta(days=5), 2_000, cancelled=True)
        self.message(ann)
        self.complaint(bob)
        self.nps(ann, 10)
        return {"ann": ann, "bob": bob, "eve": eve}
