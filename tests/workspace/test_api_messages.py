"""Messages through the API: what was sent, the templates, and previews."""

from __future__ import annotations

from retain.bootstrap import App
from retain.domain.personalization import Brand
from retain.mailer import save_brand
from tests.workspace.api_shop import ApiShop, assert_error

BRAND = Brand("Coffee & Co", "Coffee & Co", "hello@coffee.example", "1 Bean Street", "https://coffee.example")


def test_messages_are_listed_newest_first_and_filtered(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ids = shop.seed()
    shop.message(ids["bob"], "newsletter", status="skipped")
    client = shop.client("read")
    listed = client.get("/api/v1/messages").json()["items"]
    assert [(m["customer_id"], m["template"]) for m in listed] == [
        (ids["bob"], "newsletter"),
        (ids["ann"], "winback"),
    ]
    assert "address" not in listed[0]
    skipped = client.get("/api/v1/messages", params={"status": "skipped"}).json()["items"]
    assert [m["template"] for m in skipped] == ["newsletter"]
    assert client.get("/api/v1/messages", params={"customer_id": ids["eve"]}).json()["items"] == []


def test_templates_are_listed_with_a_sample_subject(sqlite_app: App) -> None:
    found = {
        t["name"]: t for t in ApiShop(sqlite_app).client("read").get("/api/v1/messages/templates").json()
    }
    assert found["winback_1"]["source"] == "retain"
    assert found["winback_1"]["subject"]


def test_a_preview_for_the_sample_customer_needs_only_read(sqlite_app: App) -> None:
    client = ApiShop(sqlite_app).client("read")
    shown = client.get("/api/v1/messages/preview", params={"template": "winback_1"}).json()
    assert shown["subject"]
    assert shown["text"]
    assert "<html" in shown["html"].lower()
    assert_error(client.get("/api/v1/messages/preview", params={"template": "nope"}), 404, "not_found")


def test_a_preview_for_a_real_customer_needs_marketing_and_a_brand(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    shop.customer("ann@example.com", "Ann Archer")
    params = {"template": "winback_1", "customer": "ann@example.com"}
    assert_error(shop.client("read").get("/api/v1/messages/preview", params=params), 403, "forbidden")
    marketer = shop.client("read", "marketing")
    assert_error(marketer.get("/api/v1/messages/preview", params=params), 409, "no_brand")
    save_brand(sqlite_app, BRAND)
    shown = marketer.get("/api/v1/messages/preview", params=params).json()
    assert "Ann" in shown["subject"] + shown["text"]
    assert "Coffee &amp; Co" in shown["html"]
    missing = params | {"customer": "nobody@example.com"}
    assert_error(marketer.get("/api/v1/messages/preview", params=missing), 404, "unknown_customer")
