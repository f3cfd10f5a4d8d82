"""Feedback through the store, on SQLite and PostgreSQL: kept once, routed, turned into
action items and tickets, and the ticket clocks, the goodbye and the team's figures."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from retain.bootstrap import App
from retain.domain.feedback import FeedbackError, Triage
from retain.domain.surveys import AnswerError, answer
from retain.domain.tickets import TicketError
from retain.service import feedback
from retain.service.feedback import Incoming, Upload
from retain.store.tables import (
    customer_events,
    goodbyes,
    staff_tasks,
    suppressions,
    tickets,
)
from retain.store.tables import (
    feedback as feedback_table,
)
from tests.loyalty.conftest import NOW, Shop


def classify(texts: Sequence[str]) -> list[Triage]:
    """A stand-in reading each text by one word, so each test states the triage it needs."""
    found = []
    for text in texts:
        category = (
            "delivery_shipping" if "late" in text else "product_quality" if "broke" in text else "other"
        )
        sentiment = (
            "positive" if "love" in text else "negative" if ("late" in text or "broke" in text) else "neutral"
        )
        found.append(Triage(category, sentiment, "amazon" in text.lower(), "leaving" in text))  # type: ignore[arg-type]
    return found


@pytest.fixture
def shop(app: App) -> Shop:
    return Shop(app)


def receive(app: App, incoming: Incoming, at: object = NOW) -> feedback.Received:
    return feedback.receive(incoming, session=app.unit_of_work, classify=classify, now=at)  # type: ignore[arg-type]


def count(app: App, table: object, *where: object) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


def test_a_detractor_answer_is_kept_once_routed_and_opens_a_ticket(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    incoming = Incoming("survey:flow:nps:1", "survey", "the parcel came late", ann, answer("nps", 3, ""))
    first = receive(app, incoming)
    again = receive(app, incoming)
    assert first.triage == Triage("delivery_shipping", "negative", False, False)
    assert first.ticket_id is not None
    assert first.item_id is not None
    assert again.duplicate
    assert again.feedback_id == first.feedback_id
    assert count(app, feedback_table) == 1
    assert count(app, tickets) == 1
    events = {"feedback_received", "survey_answered"}
    assert count(app, customer_events, customer_events.c.event.in_(events)) == 2


def test_a_promoter_is_neither_a_ticket_nor_an_action_item(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    found = receive(
        app, Incoming("survey:k", "survey", "the parcel came late but fine", ann, answer("nps", 10))
    )
    assert found.triage.sentiment == "positive"  # the score speaks louder than the words
    assert found.ticket_id is None
    assert found.item_id is None


def test_a_customer_about_to_leave_joins_the_action_plan_whatever_the_sentiment(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    found = receive(app, Incoming("api:1", "api", "love the mugs but leaving for Amazon", ann))
    assert found.triage.sentiment == "positive"
    assert found.item_id is not None


def test_answers_out_of_range_are_refused_before_anything_is_kept() -> None:
    for kind, score in (("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("review", "abc"), ("nps", "")):
        with pytest.raises(AnswerError):
            answer(kind, score)
    assert answer("nps", "7").score == 7
    with pytest.raises(AnswerError, match="no survey"):
        answer("ces", 3)


def test_a_complaint_is_a_ticket_on_the_clocks_and_bad_complaints_record_nothing(
    app: App, shop: Shop
) -> None:
    ann = shop.customer("ann@example.com")
    with pytest.raises(FeedbackError, match="empty"):
        receive(app, Incoming("complaint:1", "complaint", "   ", ann))
    photo = Upload("big.jpg", "image/jpeg", b"x" * (5 * 1024 * 1024 + 1))
    with pytest.raises(FeedbackError, match="MB"):
        receive(app, Incoming("complaint:2", "complaint", "it broke", ann, uploads=(photo,)))
    with pytest.raises(FeedbackError, match="only photos"):
        receive(
            app,
            Incoming(
                "complaint:3",
                "complaint",
                "it broke",
                ann,
                uploads=(Upload("a.exe", "application/x-msdownload", b"MZ"),),
            ),
        )
    assert count(app, feedback_table) == 0

    found = receive(app, Incoming("complaint:4", "complaint", "it broke and I am leaving for Amazon", ann))
    assert found.ticket_id is not None
    with app.unit_of_work() as uow:
        ticket = uow.feedback.ticket(found.ticket_id)
    assert ticket is not None
    assert ticket["priority"] == "high"  # leaving, and naming a competitor
    assert ticket["team"] == "product"
    assert ticket["first_response_due"] == NOW + timedelta(hours=24)
    assert ticket["resolution_due"] == NOW + timedelta(hours=72)


def test_the_same_ref_arriving_twice_at_once_is_kept_once(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    incoming = Incoming("api:review-77", "review", "it broke", ann, answer("review", 1))
    results: list[feedback.Received] = []
    barrier = threading.Barrier(2)

    def send() -> None:
        barrier.wait()
        results.append(receive(app, incoming))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.duplicate for r in results) == [False, True]
    assert count(app, feedback_table) == 1
    assert count(app, tickets) == 1


def test_problems_arriving_at_once_share_one_open_action_item(app: App, shop: Shop) -> None:
    people = [shop.customer(f"c{i}@example.com") for i in range(2)]
    barrier = threading.Barrier(2)
    items: list[int | None] = []

    def send(i: int) -> None:
        barrier.wait()
        items.append(receive(app, Incoming(f"api:{i}", "api", "parcel late", people[i])).item_id)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(items) == 2
    assert items[0] is not None
    assert items[0] == items[1]


def test_late_tickets_are_reminded_then_escalated_once_each(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    opened = receive(app, Incoming("complaint:1", "complaint", "it broke", ann))
    assert opened.ticket_id is not None
    assert feedback.check_sla(app.unit_of_work, NOW + timedelta(hours=23)).reminded == []
    day = feedback.check_sla(app.unit_of_work, NOW + timedelta(hours=25))
    assert day.reminded == [opened.ticket_id]
    assert day.escalated == []
    assert feedback.check_sla(app.unit_of_work, NOW + timedelta(hours=26)).reminded == []
    late = feedback.check_sla(app.unit_of_work, NOW + timedelta(hours=73))
    assert late.escalated == [opened.ticket_id]
    assert feedback.check_sla(app.unit_of_work, NOW + timedelta(hours=80)).escalated == []
    with app.unit_of_work() as uow:
        ticket = uow.feedback.ticket(opened.ticket_id)
        notes = [n["body"] for n in uow.feedback.notes(opened.ticket_id)]
    assert ticket is not None
    assert ticket["priority"] == "high"
    assert notes[1:] == [
        "first response overdue: the product team reminded",
        "resolution overdue: escalated, priority high",
    ]
    assert count(app, staff_tasks) == 2


def test_a_reply_stops_the_first_response_clock(app: App, shop: Shop) -> None:
    ann = shop.customer("ann@example.com")
    opened = receive(app, Incoming("complaint:1", "complaint", "it broke", ann))
    assert opened.ticket_id is not None
    feedback.record_reply(
        app.unit_of_work,
        opened.ticket_id,
        "sam",
        "We are on it",
        "ticket:1:reply:a",
        NOW + timedelta(hours=2),
    )
    assert feedback.check_sla(app.unit_of_work, NOW + timedelta(hours=25)).reminded == []
    with app.unit_of_work() as uow:
        ticket = uow.feedback.ticket(opened.ticket_id)
    assert ticket is not None
    assert ticket["status"] == "pending"
    assert ticket["first_response_at"] == NOW + timedelta(hours=2)


def test_the_team_figures_count_resolutions_csat_and_saved_customers(app: App, shop: Shop) -> None:
    ann, bob = shop.customer("ann@example.com"), shop.customer("bob@example.com")
    first = receive(app, Incoming("complaint:a", "complaint", "it broke", ann))
    second = receive(app, Incoming("complaint:b", "complaint", "parcel late", bob))
    assert first.ticket_id is not None
    assert second.ticket_id is not None
    for ticket, hours in ((first.ticket_id, 2), (second.ticket_id, 6)):
        feedback.assign(app.unit_of_work, ticket, "sam", "lead", NOW)
        feedback.record_reply(
            app.unit_of_work, ticket, "sam", "on it", f"k{ticket}", NOW + timedelta(hours=hours)
        )
        feedback.resolve(app.unit_of_work, ticket, "fixed", "", "sam", NOW + timedelta(hours=2 * hours))
    with pytest.raises(TicketError, match="resolved already"):
        feedback.resolve(app.unit_of_work, first.ticket_id, "fixed", "", "sam", NOW)
    with pytest.raises(TicketError, match="reason"):
        feedback.resolve(app.unit_of_work, second.ticket_id, "vanished", "", "sam", NOW)
    # Ann rates the help 5 and orders again 30 days later: saved. Bob orders after 120 days.
    receive(app, Incoming("survey:csat-a", "survey", "", ann, answer("csat", 5)), NOW + timedelta(days=1))
    shop.order(ann, NOW + timedelta(days=30))
    shop.order(bob, NOW + timedelta(days=120))
    (sam,) = feedback.team_figures(app.unit_of_work)
    assert (sam.agent, sam.resolved, sam.open) == ("sam", 2, 0)
    assert sam.median_first_response_hours == pytest.approx(4.0)  # 2 h and 6 h
    assert sam.median_resolution_hours == pytest.approx(8.0)  # 4 h and 12 h
    assert (sam.csat, sam.csat_responses) == (5.0, 1)
    assert sam.saved == 1
    assert count(app, customer_events, customer_events.c.event == "ticket_resolved") == 2


def test_the_action_plan_gathers_problems_and_remembers_who_was_told(app: App, shop: Shop) -> None:
    people = [shop.customer(f"c{i}@example.com") for i in range(3)]
    for i, who in enumerate(people):
        receive(
            app,
            Incoming(f"r:{i}", "review", "parcel late again", who, answer("review", 2)),
            NOW - timedelta(days=7 * i),
        )
    receive(app, Incoming("r:love", "review", "love it", people[0], answer("review", 5)))
    (item,) = feedback.action_plan(app.unit_of_work, NOW)
    assert (item.category, item.team, item.feedback, item.customers) == (
        "delivery_shipping",
        "fulfilment",
        3,
        3,
    )
    assert item.trend[-3:] == (1, 1, 1)
    assert item.quotes == ("parcel late again",) * 3
    told = feedback.resolve_item(app.unit_of_work, item.id, "lee", "We changed couriers.", NOW)
    assert told == sorted(people)
    feedback.record_notices(app.unit_of_work, item.id, [(c, f"action:{item.id}:{c}") for c in told[:2]], NOW)
    with app.unit_of_work() as uow:
        assert uow.feedback.to_notify(item.id) == told[2:]
    with pytest.raises(FeedbackError, match="resolved already"):
        feedback.resolve_item(app.unit_of_work, item.id, "lee", "again", NOW)
    later = receive(app, Incoming("r:new", "review", "late once more", people[1], answer("review", 1)))
    assert later.item_id is not None
    assert later.item_id != item.id


def test_an_easy_goodbye(app: App, shop: Shop) -> None:
    ann, bob, cat = (shop.customer(f"{n}@example.com") for n in ("ann", "bob", "cat"))
    assert feedback.offer_once(app.unit_of_work, ann, NOW) is True
    assert feedback.offer_once(app.unit_of_work, ann, NOW) is False  # shown once, ever
    feedback.goodbye(app.unit_of_work, ann, "unsubscribe", "too_many", NOW)
    feedback.goodbye(app.unit_of_work, bob, "close_account", None, NOW)
    feedback.goodbye(app.unit_of_work, cat, "fewer_emails", "made-up", NOW)
    with app.unit_of_work() as uow:
        assert uow.outreach.preferences(ann) == (False, frozenset(), "normal")
        assert uow.outreach.preferences(cat) == (True, frozenset(), "monthly")
    assert count(app, suppressions, suppressions.c.address == "bob@example.com") == 1
    with app.engine.connect() as connection:
        rows = set(connection.execute(select(goodbyes.c.action, goodbyes.c.reason)))
    assert rows == {("unsubscribe", "too_many"), ("close_account", None), ("fewer_emails", "other")}
    report = feedback.report(app.unit_of_work)
    assert report.goodbyes == {
        "unsubscribe": {"too_many": 1},
        "close_account": {"none": 1},
        "fewer_emails": {"other": 1},
    }


def test_the_report_scores_nps_by_month_and_segment(app: App, shop: Shop) -> None:
    people = [shop.customer(f"p{i}@example.com") for i in range(6)]
    for i, (who, score) in enumerate(zip(people, (10, 9, 8, 7, 6, 0), strict=True)):
        at = NOW - timedelta(days=40) if i < 3 else NOW
        receive(app, Incoming(f"s:{i}", "survey", "", who, answer("nps", score)), at)
    receive(app, Incoming("s:csat", "survey", "", people[0], answer("csat", 4)))
    receive(app, Incoming("s:csat2", "survey", "", people[1], answer("csat", 1)))
    with app.unit_of_work() as uow:
        uow.segments.apply("rfm:Champions", people[:2], [], NOW)
        uow.commit()
    found = feedback.report(app.unit_of_work)
    assert (found.nps.promoters, found.nps.passives, found.nps.detractors) == (2, 2, 2)
    assert found.nps.score == 0.0
    assert {m: n.score for m, n in found.nps_by_month.items()} == {
        "2026-05": pytest.approx(200 / 3),
        "2026-06": pytest.approx(-200 / 3),
    }
    assert found.nps_by_segment["Champions"].score == 100.0
    assert found.ratings["csat"] == (2.5, 2)
