"""A member's points as JSON for the store's account page, reached by a signed token."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from typer.testing import CliRunner

from retain.bootstrap import App
from retain.config import Settings
from retain.domain.personalization import Brand
from retain.ingest.reader import read_orders
from retain.loyalty.program import default_program
from retain.mailer import save_brand
from retain.messaging.links import MessageLinks
from retain.service import loyalty
from retain.service.imports import import_orders
from retain.web.app import create_app
from tests.conftest import DATA
from tests.integration.conftest import run

SECRET = "a-secret-key-long-enough-to-sign"
BASE = "https://retain.shop.example"
LINKS = MessageLinks(SECRET.encode(), BASE)
NOW = datetime(2026, 6, 30, tzinfo=UTC)


@pytest.fixture
def store(sqlite_app: App) -> App:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), sqlite_app.unit_of_work())
    return sqlite_app


@pytest.fixture
def client(store: App) -> TestClient:
    return TestClient(create_app(store, Settings(secret_key=SecretStr(SECRET), public_url=BASE)))


def member(app: App, points: int) -> int:
    """John (customer 2 of the sample), with ``points`` to spend."""
    loyalty.adjust(default_program(), app.unit_of_work, 2, points, "welcome gift", NOW)
    return 2


def test_the_points_page_shows_balance_rewards_and_history(store: App, client: TestClient) -> None:
    john = member(store, 700)
    reply = client.get(f"/api/v1/loyalty/{LINKS.token('loyalty', john, None)}")
    assert reply.status_code == 200
    body = reply.json()
    assert (body["balance"], body["pending"], body["worth"], body["currency"]) == (700, 0, 700, "USD")
    affordable = {r["key"]: r["affordable"] for r in body["rewards"]}
    assert affordable["five-off"] is True
    assert affordable["store-credit"] is False
    assert [(e["kind"], e["points"], e["reason"]) for e in body["history"]] == [
        ("adjust", 700, "welcome gift (admin)")
    ]
    assert body["referral_url"] is None  # no brand, so no shop to link to yet
    save_brand(
        store, Brand("Fernwood", "Fernwood", "hi@fernwood.example", "1 Lane", "https://fernwood.example")
    )
    again = client.get(f"/api/v1/loyalty/{LINKS.token('loyalty', john, None)}").json()
    assert again["referral_url"] == f"https://fernwood.example?ref={body['referral_code']}"


def test_redeeming_spends_points_once_and_refuses_what_the_balance_cannot_cover(
    store: App, client: TestClient
) -> None:
    john = member(store, 700)
    url = f"/api/v1/loyalty/{LINKS.token('loyalty', john, None)}/redeem"
    first = client.post(url, json={"reward": "five-off", "request_id": "order-page-1"})
    again = client.post(url, json={"reward": "five-off", "request_id": "order-page-1"})
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["balance"] == 200
    short = client.post(url, json={"reward": "five-off"})
    assert short.status_code == 409
    assert short.json() == {
        "error": {"code": "insufficient_points", "message": "the balance is 200 points; 500 are needed"}
    }
    unknown = client.post(url, json={"reward": "pony"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


def test_a_forged_or_foreign_token_reads_nothing(store: App, client: TestClient) -> None:
    john = member(store, 700)
    forged = MessageLinks(b"another-stores-secret-key", BASE).token("loyalty", john, None)
    foreign = LINKS.token("unsubscribe", john, None)  # a token made for another purpose
    for token in (forged, foreign, "nonsense"):
        reply = client.get(f"/api/v1/loyalty/{token}")
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "bad_token"
    stranger = client.get(f"/api/v1/loyalty/{LINKS.token('loyalty', 1, None)}")  # not a member
    assert stranger.status_code == 404


def test_the_cli_prints_a_link_the_api_accepts(
    store: App, client: TestClient, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETAIN_SECRET_KEY", SECRET)
    monkeypatch.setenv("RETAIN_PUBLIC_URL", BASE)
    john = member(store, 50)
    code, output = run(cli, store.url, "loyalty", "link", str(john))
    assert code == 0, output
    url = "".join(output.split())
    assert url.startswith(f"{BASE}/api/v1/loyalty/")
    assert client.get(url.removeprefix(BASE)).json()["balance"] == 50
