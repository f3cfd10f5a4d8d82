"""The pages a message links to: unsubscribe, preferences, click and open tracking, and the
bounce and complaint webhook."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import insert, select

from retain.bootstrap import App
from retain.config import Settings
from retain.ingest.reader import read_orders
from retain.messaging.links import MessageLinks
from retain.messaging.webhook import sign
from retain.service.imports import import_orders
from retain.store.tables import contact_preferences, customers, message_events, messages, suppressions
from retain.web.app import create_app
from tests.conftest import DATA

SECRET = "a-secret-key-long-enough-to-sign"
HOOK = "hook-secret"
BASE = "https://retain.shop.example"


@pytest.fixture
def store(sqlite_app: App) -> App:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), sqlite_app.unit_of_work())
    return sqlite_app


@pytest.fixture
def client(store: App) -> TestClient:
    chosen = Settings(secret_key=SecretStr(SECRET), public_url=BASE, mail_webhook_secret=SecretStr(HOOK))
    return TestClient(create_app(store, chosen), follow_redirects=False)


LINKS = MessageLinks(SECRET.encode(), BASE)


def li_wei(app: App) -> int:
    with app.engine.connect() as connection:
        found = connection.scalar(select(customers.c.id).where(customers.c.email == "li.wei@example.net"))
    assert isinstance(found, int)
    return found


def sent_message(app: App, customer: int, key: str = "miss-1:li") -> str:
    with app.engine.begin() as connection:
        connection.execute(
            insert(messages).values(
                key=key, customer_id=customer, template="we_miss_you", topic="offers", channel="email",
                address="li.wei@example.net", status="sent", detail="", attempts=1, created_at=app.now(),
            )
        )  # fmt: skip
    return key


def consent(app: App, customer: int) -> bool | None:
    with app.engine.connect() as connection:
        value = connection.scalar(select(customers.c.marketing_consent).where(customers.c.id == customer))
    return value if value is None else bool(value)


def events(app: App) -> list[tuple[str, str | None]]:
    with app.engine.connect() as connection:
        return [
            (row.kind, row.url)
            for row in connection.execute(select(message_events.c.kind, message_events.c.url))
        ]


def path(url: str) -> str:
    return url.removeprefix(BASE)


def test_opening_the_unsubscribe_link_only_asks(store: App, client: TestClient) -> None:
    who = li_wei(store)
    page = client.get(path(LINKS.url("unsubscribe", who, "miss-1:li")))
    assert page.status_code == 200
    assert '<form method="post"' in page.text
    assert consent(store, who) is True  # a link scanner's GET changes nothing


def test_one_click_unsubscribe_per_rfc_8058(store: App, client: TestClient) -> None:
    who = li_wei(store)
    key = sent_message(store, who)
    answer = client.post(
        path(LINKS.url("unsubscribe", who, key)),
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert consent(store, who) is False
    assert events(store) == [("unsubscribe", None)]


@pytest.mark.parametrize("purpose", ["preferences", "click"])
def test_a_token_of_another_kind_does_not_unsubscribe(store: App, client: TestClient, purpose: str) -> None:
    who = li_wei(store)
    token = LINKS.token(purpose, who, "miss-1:li")  # type: ignore[arg-type]
    answer = client.post(f"/unsubscribe/{token}", content="List-Unsubscribe=One-Click")
    assert answer.status_code == 400
    assert consent(store, who) is True


def test_a_forged_or_expired_link_is_refused(store: App, client: TestClient) -> None:
    who = li_wei(store)
    forged = MessageLinks(b"another-store-secret-key-123", BASE).url("unsubscribe", who, "miss-1:li")
    assert client.post(path(forged)).status_code == 400
    year_and_a_day = time.time() - timedelta(days=366).total_seconds()
    with mock.patch("itsdangerous.timed.time.time", return_value=year_and_a_day):
        old = LINKS.url("unsubscribe", who, "miss-1:li")
    answer = client.post(path(old))
    assert answer.status_code == 400
    assert "does not work" in answer.text
    assert consent(store, who) is True


def test_the_preference_page_keeps_topics_and_frequency(store: App, client: TestClient) -> None:
    who = li_wei(store)
    url = path(LINKS.url("preferences", who, "miss-1:li"))
    page = client.get(url)
    assert page.status_code == 200
    assert page.text.count('type="checkbox"') == 4
    answer = client.post(
        url,
        content="subscribed=yes&topic=offers&topic=loyalty&frequency=monthly",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 200
    assert "Saved" in answer.text
    with store.engine.connect() as connection:
        row = connection.execute(select(contact_preferences)).one()
    assert row.customer_id == who
    assert sorted(row.muted_topics) == ["newsletter", "reviews"]
    assert row.frequency == "monthly"
    assert consent(store, who) is True

    client.post(url, content="subscribed=no&frequency=normal")
    assert consent(store, who) is False


def test_a_click_is_recorded_and_redirected_where_the_store_linked(store: App, client: TestClient) -> None:
    who = li_wei(store)
    key = sent_message(store, who)
    target = "https://shop.example/products/decaf?utm_source=retain&x=1"
    answer = client.get(path(LINKS.click_url(who, key, target)))
    assert answer.status_code == 302
    assert answer.headers["location"] == target
    assert events(store) == [("click", target)]


def test_the_redirect_cannot_be_pointed_elsewhere(store: App, client: TestClient) -> None:
    who = li_wei(store)
    token = LINKS.click_url(who, "k", "https://shop.example/").rsplit("/", 1)[1]
    payload, _, signature = token.partition(".")
    tampered = f"{payload}x.{signature}"
    assert client.get(f"/c/{tampered}").status_code == 400


def test_the_open_pixel_records_an_open(store: App, client: TestClient) -> None:
    who = li_wei(store)
    key = sent_message(store, who)
    answer = client.get(path(LINKS.url("open", who, key)))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    assert answer.content.startswith(b"GIF89a")
    assert "no-store" in answer.headers["cache-control"]
    assert events(store) == [("open", None)]


def hook(client: TestClient, payload: dict[str, object], secret: str = HOOK) -> tuple[int, dict[str, object]]:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    answer = client.post(
        "/webhooks/mail",
        content=body,
        headers={"X-Retain-Timestamp": stamp, "X-Retain-Signature": sign(secret.encode(), stamp, body)},
    )
    return answer.status_code, answer.json()


def suppressed(app: App) -> list[tuple[str, str]]:
    with app.engine.connect() as connection:
        return [
            tuple(row) for row in connection.execute(select(suppressions.c.address, suppressions.c.reason))
        ]


def test_a_hard_bounce_suppresses_the_address(store: App, client: TestClient) -> None:
    key = sent_message(store, li_wei(store))
    status, body = hook(client, {"event": "bounce", "address": "Li.Wei@example.net", "message": key})
    assert (status, body) == (200, {"suppressed": True, "address": "li.wei@example.net"})
    assert suppressed(store) == [("li.wei@example.net", "bounce")]
    assert events(store) == [("bounce", None)]


def test_a_soft_bounce_is_recorded_but_does_not_suppress(store: App, client: TestClient) -> None:
    status, body = hook(client, {"event": "bounce", "address": "li.wei@example.net", "permanent": False})
    assert (status, body["suppressed"]) == (200, False)
    assert suppressed(store) == []


def test_a_complaint_suppresses_the_address(store: App, client: TestClient) -> None:
    assert hook(client, {"event": "complaint", "address": "li.wei@example.net"})[0] == 200
    assert suppressed(store) == [("li.wei@example.net", "complaint")]


def test_an_unsigned_or_wrongly_signed_webhook_is_refused(store: App, client: TestClient) -> None:
    assert hook(client, {"event": "complaint", "address": "li.wei@example.net"}, secret="wrong")[0] == 401
    assert client.post("/webhooks/mail", content=b"{}").status_code == 401
    assert suppressed(store) == []


def test_the_webhook_is_off_without_a_secret(store: App) -> None:
    client = TestClient(create_app(store, Settings(secret_key=SecretStr(SECRET))))
    assert client.post("/webhooks/mail", content=b"{}").status_code == 403
