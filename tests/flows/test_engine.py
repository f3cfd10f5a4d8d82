"""Flows running on a real store, on SQLite and PostgreSQL: entering, acting, exiting,
holding out, and delivering within consent, caps and quiet hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from retain.bootstrap import App
from retain.config import Settings
from retain.domain.flows import Flow
from retain.domain.personalization import Brand
from retain.flows.reader import flow_to_dict, read_flow
from retain.ingest.reader import read_orders
from retain.mailer import save_brand
from retain.messaging.courier import Courier
from retain.runner import Engine
from retain.service.imports import import_orders
from retain.store.tables import customers, flow_entries, message_queue, messages, staff_tasks
from tests.conftest import DATA

BRAND = Brand("Fernwood", "Fernwood", "hello@fernwood.example", "12 Mill Lane", "https://fernwood.example")
# The orders of tests/data/shopify: Maria on 15 January and 10 March 2025, John on 1
# February; Li Wei's order of 11 March was cancelled. Only Li Wei accepts marketing.
BEFORE = datetime(2025, 1, 1, tzinfo=UTC)


def flow(text: str) -> Flow:
    return read_flow(text)


THANKS = flow("""
name: thanks
title: Thanks
trigger: {kind: event, event: order_placed}
steps:
  - {id: hello, type: send, template: thank_you}
  - {id: note, type: task, title: Say hello, role: agent, due_hours: 24}
holdout: 0
""")
NUDGE_TEXT = """
name: nudge
title: Nudge
trigger: {kind: event, event: order_placed}
steps:
  - {id: pause, type: wait, days: 30}
  - {id: nudge, type: send, template: we_miss_you}
exit_on: [order_placed]
reentry: never
holdout: 0
"""
NUDGE = flow(NUDGE_TEXT)


@pytest.fixture
def store(app: App) -> App:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    save_brand(app, BRAND)
    with app.unit_of_work() as uow:
        uow.flows.set_cursor("orders_seen", BEFORE.isoformat())
        uow.commit()
    return app


@pytest.fixture
def courier(tmp_path: Path) -> Iterator[Courier]:
    with Courier(None, tmp_path / "outbox") as outbox:
        yield outbox


SETTINGS = Settings(secret_key=SecretStr("a-secret-key-long-enough-to-sign"), quiet_hours="", smtp_url=None)


def engine(app: App, courier: Courier, *flows: Flow, settings: Settings = SETTINGS) -> Engine:
    with app.unit_of_work() as uow:
        for one in flows:
            uow.flows.save(one.name, flow_to_dict(one), app.now(), enabled=True)
        uow.commit()
    return Engine(app, settings, courier, flows={f.name: f for f in flows})


def who(app: App) -> dict[str, int]:
    with app.engine.connect() as connection:
        return {r.email: r.id for r in connection.execute(select(customers.c.email, customers.c.id))}


def runs(app: App, name: str) -> dict[int, tuple[str, str | None]]:
    with app.engine.connect() as connection:
        query = select(flow_entries.c.customer_id, flow_entries.c.state, flow_entries.c.exit_reason).where(
            flow_entries.c.flow == name
        )
        return {r.customer_id: (r.state, r.exit_reason) for r in connection.execute(query)}


def sent(app: App) -> list[tuple[str, str | None, str, str]]:
    with app.engine.connect() as connection:
        query = select(messages.c.key, messages.c.address, messages.c.status, messages.c.detail).order_by(
            messages.c.key
        )
        return [tuple(r) for r in connection.execute(query)]  # type: ignore[misc]


def test_an_order_sets_off_the_flow_and_its_message_is_delivered(store: App, courier: Courier) -> None:
    maria = who(store)["maria.garcia@example.com"]
    report = engine(store, courier, THANKS).tick(datetime(2025, 1, 16, tzinfo=UTC))
    assert report.planned.entered == {"thanks": 1}
    assert runs(store, "thanks") == {maria: ("completed", None)}
    assert sent(store) == [(f"flow:thanks:hello:{maria}:1", "maria.garcia@example.com", "sent", "")]
    with store.engine.connect() as connection:
        tasks = connection.execute(select(staff_tasks.c.title, staff_tasks.c.customer_id)).all()
        queued = connection.execute(select(message_queue)).all()
    assert tasks == [("Say hello", maria)]
    assert queued == []
    assert len(list(courier_folder(courier).glob("*.eml"))) == 1


def courier_folder(courier: Courier) -> Path:
    transport = courier._transport
    assert transport is not None
    return transport.folder  # type: ignore[attr-defined, no-any-return]


def test_running_again_does_nothing_twice(store: App, courier: Courier) -> None:
    engine_ = engine(store, courier, THANKS)
    engine_.tick(datetime(2025, 1, 16, tzinfo=UTC))
    again = engine_.tick(datetime(2025, 1, 16, 1, tzinfo=UTC))
    assert (sum(again.planned.entered.values()), again.advanced, again.delivery.sent) == (0, 0, 0)
    assert len(sent(store)) == 1


def test_an_order_ends_a_run_that_waits(store: App, courier: Courier) -> None:
    maria = who(store)["maria.garcia@example.com"]
    engine_ = engine(store, courier, NUDGE)
    engine_.tick(datetime(2025, 1, 16, tzinfo=UTC))  # Maria enters and waits 30 days
    engine_.tick(datetime(2025, 2, 2, tzinfo=UTC))  # John enters
    engine_.tick(datetime(2025, 2, 16, tzinfo=UTC))  # Maria's wait ends: the nudge goes
    assert runs(store, "nudge")[maria] == ("completed", None)
    engine_.tick(datetime(2025, 3, 11, tzinfo=UTC))  # Maria orders again on 10 March
    john = who(store)["john.smith@example.org"]
    assert runs(store, "nudge")[john] == ("completed", None)
    assert runs(store, "nudge")[maria] == ("completed", None)  # never re-enters
    keys = {key for key, *_ in sent(store)}
    assert keys == {f"flow:nudge:nudge:{john}:1", f"flow:nudge:nudge:{maria}:1"}


def test_the_exit_event_stops_the_message(store: App, courier: Courier) -> None:
    john = who(store)["john.smith@example.org"]
    longer = flow(NUDGE_TEXT.replace("days: 30", "days: 60"))
    engine_ = engine(store, courier, longer)
    engine_.tick(datetime(2025, 1, 16, tzinfo=UTC))
    engine_.tick(datetime(2025, 3, 12, tzinfo=UTC))  # Maria's second order ends her run
    maria = who(store)["maria.garcia@example.com"]
    states = runs(store, "nudge")
    assert states[maria] == ("exited", "order_placed")
    assert states[john] == ("active", None)
    assert sent(store) == []


def test_held_out_customers_get_nothing(store: App, courier: Courier) -> None:
    held = flow(THANKS_TEXT.replace("holdout: 0", "holdout: 0.999"))
    report = engine(store, courier, held).tick(datetime(2025, 3, 12, tzinfo=UTC))
    assert report.planned.held_out == {"thanks": 2}
    assert {state for state, _ in runs(store, "thanks").values()} == {"holdout"}
    assert sent(store) == []


THANKS_TEXT = """
name: thanks
title: Thanks
trigger: {kind: event, event: order_placed}
steps:
  - {id: hello, type: send, template: thank_you}
holdout: 0
"""

MARKETING = """
name: promo-N
title: Promo
trigger: {kind: event, event: order_placed}
steps:
  - {id: offer, type: send, template: we_miss_you}
holdout: 0
"""


def agrees(app: App, email: str) -> int:
    """The customer of ``email``, now accepting marketing."""
    customer = who(app)[email]
    with app.engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == customer).values(marketing_consent=True))
    return customer


def test_consent_is_checked_when_the_message_goes_not_when_the_run_starts(
    store: App, courier: Courier
) -> None:
    maria = agrees(store, "maria.garcia@example.com")
    later = flow(
        MARKETING.replace("promo-N", "promo-1").replace(
            "- {id: offer", "- {id: pause, type: wait, days: 2}\n  - {id: offer"
        )
    )
    engine_ = engine(store, courier, later)
    engine_.tick(datetime(2025, 3, 12, tzinfo=UTC))
    with store.engine.begin() as connection:  # she unsubscribes while the run waits
        connection.execute(update(customers).where(customers.c.id == maria).values(marketing_consent=False))
    engine_.tick(datetime(2025, 3, 15, tzinfo=UTC))
    mine = [row for row in sent(store) if f":{maria}:" in row[0]]
    assert mine == [(f"flow:promo-1:offer:{maria}:1", "maria.garcia@example.com", "skipped", "unsubscribed")]


def test_the_calendar_caps_marketing_messages_across_flows(store: App, courier: Courier) -> None:
    maria = agrees(store, "maria.garcia@example.com")
    promos = [flow(MARKETING.replace("promo-N", f"promo-{n}")) for n in (1, 2, 3)]
    engine_ = engine(store, courier, *promos)
    engine_.tick(datetime(2025, 3, 12, tzinfo=UTC))
    outcome = {
        key.split(":")[1]: (status, detail) for key, _, status, detail in sent(store) if f":{maria}:" in key
    }
    assert sorted(outcome.values()) == [
        ("sent", ""),
        ("sent", ""),
        ("skipped", "over the cap: 2 marketing messages in 7 days"),
    ]
    # Eight days later the calendar has room again.
    waits = "- {id: pause, type: wait, days: 8}\n  - {id: offer"
    fourth = flow(MARKETING.replace("promo-N", "promo-4").replace("- {id: offer", waits))
    with store.unit_of_work() as uow:  # replay the same orders for the fourth flow
        uow.flows.set_cursor("orders_seen", BEFORE.isoformat())
        uow.flows.set_cursor("events", "0")
        uow.commit()
    engine_ = engine(store, courier, fourth)
    engine_.tick(datetime(2025, 3, 12, 1, tzinfo=UTC))
    engine_.tick(datetime(2025, 3, 21, tzinfo=UTC))
    assert (f"flow:promo-4:offer:{maria}:1", "maria.garcia@example.com", "sent", "") in sent(store)


def test_quiet_hours_defer_a_message_to_the_morning(store: App, courier: Courier) -> None:
    maria = who(store)["maria.garcia@example.com"]
    with store.engine.begin() as connection:
        connection.execute(
            update(customers).where(customers.c.id == maria).values(timezone="America/New_York")
        )
    quiet = Settings(secret_key=SecretStr("a-secret-key-long-enough-to-sign"), quiet_hours="21:00-08:00")
    engine_ = engine(store, courier, THANKS, settings=quiet)
    night = datetime(2025, 1, 16, 3, tzinfo=UTC)  # 22:00 in New York
    report = engine_.tick(night)
    assert (report.deferred, report.delivery.sent) == (1, 0)
    with store.engine.connect() as connection:
        waiting = connection.scalar(select(message_queue.c.not_before))
    assert waiting == datetime(2025, 1, 16, 13, tzinfo=UTC)  # 08:00 in New York
    assert engine_.tick(datetime(2025, 1, 16, 12, tzinfo=UTC)).delivery.sent == 0
    assert engine_.tick(datetime(2025, 1, 16, 13, tzinfo=UTC)).delivery.sent == 1


def test_a_birthday_starts_a_date_flow_on_the_day(store: App, courier: Courier) -> None:
    li = who(store)["li.wei@example.net"]
    with store.engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == li).values(birthday=date(1990, 4, 2)))
    birthday = flow("""
name: bday
title: Birthday
trigger: {kind: date, date: birthday}
steps:
  - {id: wish, type: send, template: birthday}
reentry: always
holdout: 0
""")
    engine_ = engine(store, courier, birthday)
    assert engine_.tick(datetime(2025, 4, 1, 10, tzinfo=UTC)).planned.entered == {}
    assert engine_.tick(datetime(2025, 4, 2, 10, tzinfo=UTC)).planned.entered == {"bday": 1}
    assert engine_.tick(datetime(2025, 4, 2, 18, tzinfo=UTC)).planned.entered == {}  # once a day
    assert runs(store, "bday") == {li: ("completed", None)}


def test_the_flow_status_page_shows_runs_caps_and_lift(store: App, courier: Courier) -> None:
    from tests.signin import member

    engine(store, courier, THANKS).tick(datetime(2025, 3, 12, tzinfo=UTC))
    page = member(store, "viewer", SETTINGS).get("/flows")
    assert page.status_code == 200
    row = page.text.split('data-flow="thanks"')[1].split("</tr>")[0]
    assert 'data-figure="entered">2<' in row
    assert 'data-figure="capped">0<' in row
    assert "not enough entrants yet" in row  # no holdout in this flow


def test_one_worker_plans_at_a_time(store: App, courier: Courier) -> None:
    engine_ = engine(store, courier, THANKS)
    busy_until = datetime(2025, 1, 16, 0, 5, tzinfo=UTC)
    with store.unit_of_work() as uow:  # another worker is planning
        uow.flows.set_cursor("planner_lease", f"worker-other|{busy_until.isoformat()}")
        uow.commit()
    assert engine_.tick(datetime(2025, 1, 16, tzinfo=UTC)).planned.entered == {}
    assert engine_.tick(datetime(2025, 1, 16, 0, 6, tzinfo=UTC)).planned.entered == {"thanks": 1}
    with store.unit_of_work() as uow:  # released when done
        assert uow.flows.cursor("planner_lease") == ""


def test_a_score_flow_enters_those_past_the_threshold_who_pass_the_entry_rule(
    store: App, courier: Courier
) -> None:
    from sqlalchemy import insert

    from retain.store.tables import customer_scores

    people = who(store)
    score = {"model": "bgnbd", "model_version": 1, "as_of": date(2025, 3, 1), "horizon_days": 90,
             "p_alive": 0.5, "predicted_orders": 1.0, "average_order_value": 5000, "historic_clv": 5000,
             "total_clv": 0, "currency": "USD"}  # fmt: skip
    # Maria: slipping away and valuable; John: slipping away, worth little; Li: staying.
    churn = {"maria.garcia@example.com": (0.8, 30_000), "john.smith@example.org": (0.9, 5_000),
             "li.wei@example.net": (0.2, 90_000)}  # fmt: skip
    rows = [
        {**score, "customer_id": people[email], "churn_probability": p, "predicted_clv": clv}
        for email, (p, clv) in churn.items()
    ]
    with store.engine.begin() as connection:
        connection.execute(insert(customer_scores), rows)
    watch = flow("""
name: watch
title: Watch
trigger: {kind: score, score: churn_probability, above: 0.5}
entry: {field: predicted_clv, op: ">=", value: 200}
steps:
  - {id: call, type: task, title: Call them, role: agent, due_hours: 24}
reentry: after
reentry_days: 60
holdout: 0
""")
    engine_ = engine(store, courier, watch)
    assert engine_.tick(datetime(2025, 3, 12, tzinfo=UTC)).planned.entered == {"watch": 1}
    assert set(runs(store, "watch")) == {people["maria.garcia@example.com"]}
    # Read once a day: a second round that day enters nobody, nor does the next (re-entry).
    assert engine_.tick(datetime(2025, 3, 12, 6, tzinfo=UTC)).planned.entered == {}
    assert engine_.tick(datetime(2025, 3, 13, tzinfo=UTC)).planned.entered == {}
