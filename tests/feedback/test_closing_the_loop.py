"""Closing the loop through real messages: the flow engine acknowledges feedback within a
tick, a resolved ticket brings a CSAT survey whose signed link names the survey, and a
resolved action item tells every customer who raised it, over a real SMTP server."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from pydantic import SecretStr

from retain import listening
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.personalization import Brand
from retain.domain.surveys import answer
from retain.flows.reader import flow_to_dict, library
from retain.mailer import save_brand, signer
from retain.messaging.courier import Courier
from retain.runner import Engine
from retain.service import feedback
from retain.service.feedback import Incoming
from tests.loyalty.conftest import NOW, Shop
from tests.messaging.conftest import Server

BRAND = Brand("Fernwood", "Fernwood", "hello@fernwood.example", "12 Mill Lane", "https://fernwood.example")
SETTINGS = Settings(
    secret_key=SecretStr("a-secret-key-long-enough-to-sign"),
    quiet_hours="",
    smtp_url=None,
    public_url="https://retain.fernwood.example",
)


@pytest.fixture
def shop(app: App) -> Shop:
    save_brand(app, BRAND)
    return Shop(app)


@pytest.fixture
def courier(tmp_path: Path) -> Iterator[Courier]:
    with Courier(None, tmp_path / "outbox") as outbox:
        yield outbox


def sent(courier: Courier) -> list[EmailMessage]:
    found = []
    for path in sorted(Path(courier._transport.folder).glob("*.eml")):  # type: ignore[union-attr]
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def engine(app: App, courier: Courier, *names: str) -> Engine:
    flows = {name: library()[name] for name in names}
    with app.unit_of_work() as uow:
        for flow in flows.values():
            uow.flows.save(flow.name, flow_to_dict(flow), app.now(), enabled=True)
        uow.commit()
    return Engine(app, SETTINGS, courier, flows=flows)


def test_feedback_is_acknowledged_within_one_tick(app: App, shop: Shop, courier: Courier) -> None:
    ann = shop.customer("ann@example.com", consent=False)  # a service message needs no consent
    worker = engine(app, courier, "feedback-acknowledgement")
    listening.receive(app, Incoming("complaint:1", "complaint", "My parcel never arrived", ann), NOW)
    worker.tick(NOW + timedelta(minutes=1))
    (message,) = sent(courier)
    assert message["To"] == "ann <ann@example.com>"
    assert "passed it straight to the team" in text_of(message)
    report = feedback.report(app.unit_of_work)
    assert report.acknowledged == 1
    assert report.median_acknowledgement_minutes == pytest.approx(1.0)


def test_a_resolved_ticket_brings_a_csat_survey_whose_answer_rates_the_ticket(
    app: App, shop: Shop, courier: Courier
) -> None:
    ann = shop.customer("ann@example.com")
    worker = engine(app, courier, "ticket-csat")
    opened = listening.receive(app, Incoming("complaint:1", "complaint", "The mug arrived broken", ann), NOW)
    assert opened.ticket_id is not None
    feedback.assign(app.unit_of_work, opened.ticket_id, "sam", "lead", NOW)
    feedback.resolve(app.unit_of_work, opened.ticket_id, "replaced", "sent a new mug", "sam", NOW)
    for minutes in (1, 30, 90):  # the event, then the hour's wait
        worker.tick(NOW + timedelta(minutes=minutes))
    (message,) = sent(courier)
    assert message["Subject"] == "How did we do?"
    link = re.search(r"https://retain\.fernwood\.example/s/(\S+)", text_of(message))
    assert link is not None
    customer, invitation, kind = signer(app, SETTINGS).read_survey("survey", link.group(1).rstrip(")"))
    assert (customer, kind) == (ann, "csat")
    listening.receive(
        app, Incoming(f"survey:{invitation}", "survey", "quick and kind", ann, answer("csat", 5)),
        NOW + timedelta(hours=3),
    )  # fmt: skip
    (sam,) = feedback.team_figures(app.unit_of_work)
    assert (sam.resolved, sam.csat, sam.csat_responses) == (1, 5.0, 1)


def test_resolving_an_action_item_tells_everyone_who_raised_it_over_smtp(
    app: App, shop: Shop, tmp_path: Path, start_server: object
) -> None:
    server: Server = start_server()  # type: ignore[operator]
    people = [shop.customer(f"c{i}@example.com") for i in range(3)]
    gone = shop.customer("gone@example.com")
    for i, who in enumerate([*people, gone]):
        listening.receive(
            app, Incoming(f"r:{i}", "review", "Delivery took three weeks", who, answer("review", 1)), NOW
        )
    with app.unit_of_work() as uow:
        uow.outreach.suppress("gone@example.com", "bounce", "mailbox gone", NOW)
        uow.commit()
    (item,) = feedback.action_plan(app.unit_of_work, NOW)
    smtp = Settings(
        secret_key=SecretStr("a-secret-key-long-enough-to-sign"),
        smtp_url=SecretStr(f"smtp://{server.host}:{server.port}"),
    )
    closed = listening.resolve_item(app, item.id, "lee", "We moved to a faster courier.", tmp_path, smtp)
    assert sorted(closed.told) == sorted(people)
    assert closed.not_told == [gone]
    received = sorted(r.recipients[0] for r in server.handler.received)
    assert received == [f"c{i}@example.com" for i in range(3)]
    message = server.handler.received[0].parsed()
    assert message["Subject"] == "You told us, and we changed it"
    assert "We moved to a faster courier." in text_of(message)
    with app.unit_of_work() as uow:
        notices = uow.feedback.notices(item.id)
    assert [n["email"] for n in notices] == [f"c{i}@example.com" for i in range(3)]
    # Telling them again sends nothing: each customer is told once.
    again = listening.notify(app, item.id, [], "again", tmp_path, smtp)
    assert again.told == []
    assert len(server.handler.received) == 3


def test_an_email_reply_becomes_a_ticket_once(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    raw = (
        b"From: Ann <ANN@example.com>\r\nSubject: Re: Your order\r\nMessage-ID: <r1@mail.example>\r\n\r\n"
        b"My card was charged twice for order 1042, please refund one.\r\n\r\n"
        b"On Mon, 3 Nov 2026, Fernwood wrote:\r\n> Thanks for your order\r\n"
    )
    first = listening.receive_reply(app, raw, NOW)
    again = listening.receive_reply(app, raw, NOW)
    assert again.duplicate
    assert first.triage.category == "price_billing"
    assert first.ticket_id is not None
    with app.unit_of_work() as uow:
        ticket = uow.feedback.ticket(first.ticket_id)
        kept = uow.feedback.get(first.feedback_id)
    assert ticket is not None
    assert kept is not None
    assert (ticket["customer_id"], ticket["subject"], ticket["team"]) == (ann, "Re: Your order", "billing")
    assert kept["text"] == "My card was charged twice for order 1042, please refund one."


def test_a_review_and_a_survey_answer_earn_their_bonus_once(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    review = Incoming("survey:flow:review:1", "review", "Lovely mug", ann, answer("review", 5))
    survey = Incoming("survey:flow:nps:1", "survey", "", ann, answer("nps", 9))
    for incoming in (review, review, survey):
        listening.receive(app, incoming, NOW)
    with app.unit_of_work() as uow:
        account = uow.loyalty.account(ann)
    assert account is not None
    assert account["balance"] == 50 + 25  # the default program's review and survey bonuses
