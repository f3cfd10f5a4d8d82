"""Sending a template to a store's customers, end to end, into a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from retain.bootstrap import App
from retain.config import Settings
from retain.domain.discounts import DiscountSpec
from retain.domain.personalization import Brand
from retain.ingest.reader import read_orders
from retain.mailer import save_brand, send
from retain.service.imports import import_orders
from retain.service.outreach import Campaign
from retain.store.tables import customers, discount_codes, messages, suppressions
from tests.conftest import DATA
from tests.messaging.conftest import Server

BRAND = Brand(
    store_name="Fernwood Coffee",
    sender_name="Fernwood Coffee",
    sender_address="hello@fernwood.example",
    postal_address="12 Mill Lane, Bristol BS1 4DJ",
    shop_url="https://fernwood.example",
)


@pytest.fixture
def store(app: App) -> App:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    save_brand(app, BRAND)
    return app


def ids(app: App) -> dict[str, int]:
    with app.engine.connect() as connection:
        return {row.email: row.id for row in connection.execute(select(customers.c.email, customers.c.id))}


def settings(server: Server, public_url: str = "https://retain.fernwood.example") -> Settings:
    return Settings(
        smtp_url=SecretStr(f"smtp://{server.host}:{server.port}"),
        public_url=public_url,
        secret_key=SecretStr("a-secret-key-long-enough-to-sign"),
    )


def outcomes(app: App) -> dict[str, tuple[str, str]]:
    with app.engine.connect() as connection:
        query = select(messages.c.address, messages.c.status, messages.c.detail)
        return {row.address: (row.status, row.detail) for row in connection.execute(query)}


def test_a_marketing_email_reaches_only_customers_who_agreed(
    store: App, server: Server, tmp_path: Path
) -> None:
    people = ids(store)
    report = send(
        store, Campaign("miss-1", "we_miss_you"), list(people.values()), tmp_path, settings=settings(server)
    )

    assert report.sent == 1
    assert dict(report.skipped) == {"unsubscribed": 2}  # both said "no" to marketing on their last order
    assert [r.recipients for r in server.handler.received] == [["li.wei@example.net"]]
    message = server.handler.received[0].parsed()
    assert message.get_content_type() == "multipart/alternative"
    assert message["From"] == "Fernwood Coffee <hello@fernwood.example>"
    assert message["To"] == "Li Wei <li.wei@example.net>"
    assert "Li" in message["Subject"]
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Li" in text.get_content()
    assert "12 Mill Lane" in text.get_content()
    page = html.get_content()
    # Links go through the signed click redirect; the open pixel comes last.
    assert 'href="https://retain.fernwood.example/c/' in page
    assert 'src="https://retain.fernwood.example/o/' in page
    assert 'href="https://fernwood.example' not in page
    # RFC 8058 one-click unsubscribe, with an https URL and a mailto.
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"]
    assert "<https://retain.fernwood.example/unsubscribe/" in unsubscribe
    assert "<mailto:hello@fernwood.example?subject=unsubscribe%20" in unsubscribe

    recorded = outcomes(store)
    assert recorded["li.wei@example.net"] == ("sent", "")
    assert recorded["john.smith@example.org"] == ("skipped", "unsubscribed")


def test_an_order_email_goes_to_everyone_with_an_address(store: App, server: Server, tmp_path: Path) -> None:
    report = send(
        store,
        Campaign("thanks-1", "thank_you"),
        list(ids(store).values()),
        tmp_path,
        settings=settings(server),
    )
    assert report.sent == 3
    assert sorted(r.recipients[0] for r in server.handler.received) == [
        "john.smith@example.org",
        "li.wei@example.net",
        "maria.garcia@example.com",
    ]


def test_without_https_the_unsubscribe_header_keeps_only_the_mailto(
    store: App, server: Server, tmp_path: Path
) -> None:
    people = ids(store)
    chosen = settings(server, public_url="http://127.0.0.1:8000")
    send(store, Campaign("thanks-2", "thank_you"), [people["li.wei@example.net"]], tmp_path, settings=chosen)
    message = server.handler.received[0].parsed()
    assert message["List-Unsubscribe"].startswith("<mailto:")
    assert "http" not in message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] is None  # RFC 8058 asks for an https URI


def test_a_campaign_sent_twice_reaches_nobody_twice(store: App, server: Server, tmp_path: Path) -> None:
    everyone = list(ids(store).values())
    first = send(store, Campaign("thanks-3", "thank_you"), everyone, tmp_path, settings=settings(server))
    again = send(store, Campaign("thanks-3", "thank_you"), everyone, tmp_path, settings=settings(server))
    assert (first.sent, again.sent, again.already_sent) == (3, 0, 3)
    assert len(server.handler.received) == 3


def test_an_address_refused_for_good_is_suppressed_for_later_messages(
    store: App, server: Server, tmp_path: Path
) -> None:
    server.handler.unknown.add("john.smith@example.org")
    everyone = list(ids(store).values())
    first = send(store, Campaign("thanks-4", "thank_you"), everyone, tmp_path, settings=settings(server))
    assert (first.sent, first.permanent_failures) == (2, 1)
    with store.engine.connect() as connection:
        rows = connection.execute(select(suppressions.c.address, suppressions.c.reason)).all()
    assert rows == [("john.smith@example.org", "permanent_failure")]

    later = send(store, Campaign("thanks-5", "thank_you"), everyone, tmp_path, settings=settings(server))
    assert later.sent == 2
    assert dict(later.skipped) == {"address suppressed (permanent_failure)": 1}


def test_an_offer_gives_each_recipient_a_code_of_their_own(
    store: App, server: Server, tmp_path: Path
) -> None:
    spec = DiscountSpec("percent", 15, "USD", purpose="winback")
    campaign = Campaign("win-1", "winback_1", offer=spec)
    report = send(store, campaign, list(ids(store).values()), tmp_path, settings=settings(server))
    assert report.codes_issued == report.sent == 1
    with store.engine.connect() as connection:
        code, owner = connection.execute(select(discount_codes.c.code, discount_codes.c.customer_id)).one()
    assert owner == ids(store)["li.wei@example.net"]
    body = server.handler.received[0].parsed().get_body(("plain",))
    assert body is not None
    printed = "-".join(code[i : i + 4] for i in range(0, 12, 4))
    assert printed in body.get_content()
    assert "15% off" in body.get_content()


def test_without_smtp_settings_mail_lands_in_the_outbox(store: App, tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    chosen = Settings(smtp_url=None, secret_key=SecretStr("a-secret-key-long-enough-to-sign"))
    report = send(
        store, Campaign("thanks-6", "thank_you"), list(ids(store).values()), outbox, settings=chosen
    )
    assert report.sent == 3
    assert len(list(outbox.glob("*.eml"))) == 3


def test_a_customer_without_an_address_is_skipped_with_the_reason(
    store: App, server: Server, tmp_path: Path
) -> None:
    people = ids(store)
    with store.engine.begin() as connection:
        connection.execute(
            customers.update().where(customers.c.email == "li.wei@example.net").values(email=None)
        )
    report = send(
        store,
        Campaign("thanks-7", "thank_you"),
        [people["li.wei@example.net"]],
        tmp_path,
        settings=settings(server),
    )
    assert (report.sent, dict(report.skipped)) == (0, {"no email address": 1})
    assert server.handler.received == []


def test_an_unknown_template_sends_nothing(store: App, server: Server, tmp_path: Path) -> None:
    from retain.messaging.templating import TemplateError

    with pytest.raises(TemplateError, match="no such template"):
        send(store, Campaign("x", "no_such"), list(ids(store).values()), tmp_path, settings=settings(server))
    assert server.handler.received == []
    assert outcomes(store) == {}


def test_the_report_credits_orders_placed_soon_after_a_click(
    store: App, server: Server, tmp_path: Path
) -> None:
    store.now = lambda: datetime(2025, 1, 10, tzinfo=UTC)
    send(
        store,
        Campaign("thanks-8", "thank_you"),
        list(ids(store).values()),
        tmp_path,
        settings=settings(server),
    )
    maria = ids(store)["maria.garcia@example.com"]
    with store.unit_of_work() as uow:
        # Maria clicks two days later and orders on the 15th (#1001, $56.16); John only opens,
        # on the 1st of February, and orders that day (#1002).
        assert uow.outreach.add_event(f"thanks-8:{maria}", "click", datetime(2025, 1, 12, tzinfo=UTC))
        john = ids(store)["john.smith@example.org"]
        assert uow.outreach.add_event(f"thanks-8:{john}", "open", datetime(2025, 1, 20, tzinfo=UTC))
        uow.commit()
        rows = uow.outreach.report(timedelta(days=5))
    assert rows == [
        {
            "template": "thank_you", "sent": 3, "skipped": 0, "failed": 0, "opened": 1, "clicked": 1,
            "unsubscribed": 0, "bounced": 0, "orders": 1, "revenue": "$56.16",
        }
    ]  # fmt: skip
    with store.unit_of_work() as uow:  # a 14-day window also takes John's order of the 1st
        assert uow.outreach.report(timedelta(days=14))[0]["orders"] == 2
