"""Loyalty inside the daily work: the worker keeps points current, flow steps award points
through the ledger, and points messages show the member's balance."""

from __future__ import annotations

import email
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from retain.bootstrap import App
from retain.config import Settings
from retain.domain.personalization import Brand
from retain.flows.reader import flow_to_dict, library, read_flow
from retain.ingest.reader import read_orders
from retain.mailer import save_brand
from retain.messaging.courier import Courier
from retain.runner import Engine
from retain.service.imports import import_orders
from retain.store.tables import customers, loyalty_accounts, loyalty_ledger
from tests.conftest import DATA

BRAND = Brand("Fernwood", "Fernwood", "hello@fernwood.example", "12 Mill Lane", "https://fernwood.example")
SETTINGS = Settings(secret_key=SecretStr("a-secret-key-long-enough-to-sign"), quiet_hours="", smtp_url=None)
GIFT = read_flow("""
name: gift
title: Points for a first order
trigger: {kind: event, event: order_placed}
steps:
  - {id: gift, type: points, points: 75, reason: first order gift}
reentry: never
holdout: 0
""")


@pytest.fixture
def store(app: App) -> App:
    """The Shopify sample: Maria ordered on 15 January and 10 March 2025, John on 1 February."""
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    save_brand(app, BRAND)
    with app.engine.begin() as connection:  # Maria agrees to hear from the store
        connection.execute(
            update(customers).where(customers.c.email.like("maria%")).values(marketing_consent=True)
        )
    with app.unit_of_work() as uow:
        uow.flows.set_cursor("orders_seen", datetime(2025, 1, 1, tzinfo=UTC).isoformat())
        uow.commit()
    return app


@pytest.fixture
def courier(tmp_path: Path) -> Iterator[Courier]:
    with Courier(None, tmp_path / "outbox") as outbox:
        yield outbox


def engine(app: App, courier: Courier, *names: str) -> Engine:
    flows = {GIFT.name: GIFT} | {name: library()[name] for name in names}
    with app.unit_of_work() as uow:
        for flow in flows.values():
            uow.flows.save(flow.name, flow_to_dict(flow), app.now(), enabled=True)
        uow.commit()
    return Engine(app, SETTINGS, courier, flows=flows)


def maria(app: App) -> int:
    with app.engine.connect() as connection:
        return int(
            connection.execute(select(customers.c.id).where(customers.c.email.like("maria%"))).scalar_one()
        )


def test_a_tick_keeps_points_current_and_flow_points_go_through_the_ledger(
    store: App, courier: Courier
) -> None:
    worker = engine(store, courier)
    report = worker.tick(datetime(2025, 1, 16, 12, tzinfo=UTC))
    assert report.loyalty is not None
    assert report.loyalty.orders == 1  # Maria's of 15 January: the sample's later orders wait their day
    who = maria(store)
    with store.engine.connect() as connection:
        ledger = loyalty_ledger.c
        entries = connection.execute(
            select(ledger.kind, ledger.source, ledger.points, ledger.reason)
            .where(ledger.customer_id == who, ledger.source == "flow")
        ).all()  # fmt: skip
        balance = connection.execute(
            select(loyalty_accounts.c.balance).where(loyalty_accounts.c.customer_id == who)
        ).scalar_one()  # fmt: skip
    assert entries == [("earn", "flow", 75, "first order gift")]
    assert balance == 75  # the gift is spendable; the order's own points wait out the window

    again = worker.tick(datetime(2025, 1, 16, 18, tzinfo=UTC))
    assert again.loyalty is None  # once a day


def test_a_points_update_tells_the_member_their_balance(store: App, courier: Courier) -> None:
    worker = engine(store, courier, "points-update")
    worker.tick(datetime(2025, 1, 16, 12, tzinfo=UTC))
    for day in (17, 18, 19):  # the event, then the run entered, then 10:00 comes
        worker.tick(datetime(2025, 1, day, 12, tzinfo=UTC))
    outbox = sorted(Path(courier._transport.folder).glob("*.eml"))  # type: ignore[union-attr]
    assert len(outbox) == 1  # Maria, who agreed to marketing, told once of her gift
    message = email.message_from_bytes(outbox[0].read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "You have 75 points"
    text = message.get_body(("plain",))
    assert text is not None
    assert "$0.75" in text.get_content()


def test_a_referral_invitation_carries_the_members_own_link(store: App, courier: Courier) -> None:
    invite = read_flow("""
name: invite
title: Invite a friend
trigger: {kind: event, event: order_placed}
steps:
  - {id: invite, type: send, template: referral_invite}
reentry: never
holdout: 0
""")
    with store.unit_of_work() as uow:
        uow.flows.save(invite.name, flow_to_dict(invite), store.now(), enabled=True)
        uow.commit()
    Engine(store, SETTINGS, courier, flows={invite.name: invite}).tick(datetime(2025, 1, 16, 12, tzinfo=UTC))
    with store.unit_of_work() as uow:
        account = uow.loyalty.account(maria(store))
    assert account is not None
    (sent,) = Path(courier._transport.folder).glob("*.eml")  # type: ignore[union-attr]
    message = email.message_from_bytes(sent.read_bytes(), policy=default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(("plain",))
    assert text is not None
    code = account["referral_code"]
    assert f"https://fernwood.example?ref={code[:4]}-{code[4:]}" in text.get_content()
