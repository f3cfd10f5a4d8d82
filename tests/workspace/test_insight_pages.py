"""The overview, cohorts, segments and customers pages, on a small store whose figures are
worked out by hand here.

As of 2026-06-30 12:00 UTC (the year measured is 2025-07-01 to 2026-06-30):

| customer | orders (net)                         | scores                                  |
|----------|--------------------------------------|-----------------------------------------|
| ann      | 2025-01-10 100.00, 2026-02-10 50.00  | churn 0.8, p_alive 0.3, predicted 300.00 |
| bob      | 2025-03-05 80.00                     | churn 0.9, predicted 50.00              |
| cat      | 2025-09-15 40.00, 2026-05-20 60.00   | churn 0.2, predicted 120.00             |
| dan      | 2024-01-01 30.00                     | none                                    |

NPS answers in the last year: 10 (ann), 9 and 3. One ticket of ann's is overdue; ann got a
newsletter and opened it, and earned 150 points.
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from retain.analytics.insight_cache import refresh_if_stale
from retain.bootstrap import App
from retain.runner import enabled_flows
from retain.service.flows import plan
from retain.store.tables import (
    customer_scores,
    customers,
    feedback,
    loyalty_accounts,
    loyalty_ledger,
    message_events,
    messages,
    tickets,
)
from retain.web.app import create_app
from tests.loyalty.conftest import Shop
from tests.signin import member

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
ORDERS = (
    ("ann", "2025-01-10", 10_000), ("ann", "2026-02-10", 5_000), ("bob", "2025-03-05", 8_000),
    ("cat", "2025-09-15", 4_000), ("cat", "2026-05-20", 6_000), ("dan", "2024-01-01", 3_000),
)  # fmt: skip


def noon(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)


def _score(
    customer_id: int, churn: float, p_alive: float, clv: int, gap: float, expected: date
) -> dict[str, object]:
    return {
        "customer_id": customer_id, "model": "bgnbd+gamma-gamma", "model_version": 1, "as_of": NOW.date(),
        "horizon_days": 90, "p_alive": p_alive, "churn_probability": churn, "predicted_orders": 0.5,
        "expected_next_order": expected, "average_order_value": 7_500, "average_days_between_orders": gap,
        "historic_clv": 15_000, "predicted_clv": clv, "total_clv": 15_000 + clv, "currency": "USD",
    }  # fmt: skip


def _said(ref: str, customer_id: int | None, score: int, text: str, at: datetime) -> dict[str, object]:
    return {
        "ref": ref, "customer_id": customer_id, "source": "survey", "survey": "nps", "score": score,
        "text": text, "category": "product", "sentiment": "positive" if score >= 9 else "negative",
        "mentions_competitor": False, "intends_to_leave": False, "team": "product", "data": {},
        "created_at": at,
    }  # fmt: skip


def build(app: App) -> dict[str, int]:
    """The store above; returns the customers' ids by name."""
    app.now = lambda: NOW
    shop = Shop(app)
    ids = {name: shop.customer(f"{name}@example.com") for name in ("ann", "bob", "cat", "dan")}
    for name, day, amount in ORDERS:
        shop.order(ids[name], noon(day), amount, shipping=0, tax=0)
    ann = ids["ann"]
    with app.engine.begin() as connection:
        connection.execute(
            insert(customer_scores),
            [
                _score(ann, 0.8, 0.3, 30_000, 396.0, date(2026, 3, 13)),
                _score(ids["bob"], 0.9, 0.2, 5_000, 0.0, date(2026, 1, 1)),
                _score(ids["cat"], 0.2, 0.95, 12_000, 247.0, date(2027, 1, 22)),
            ],
        )
        connection.execute(
            insert(feedback),
            [
                _said("nps:1", ann, 10, "Lovely beans", noon("2026-01-05")),
                _said("nps:2", ids["cat"], 9, "Quick delivery", noon("2026-03-01")),
                _said("nps:3", None, 3, "Too dear", noon("2026-06-01")),
            ],
        )
        connection.execute(
            insert(tickets),
            {"customer_id": ann, "subject": "Parcel never arrived", "status": "open", "priority": "high",
             "team": "delivery", "category": "delivery", "source": "complaint",
             "created_at": noon("2026-06-20"), "updated_at": noon("2026-06-20"),
             "first_response_due": noon("2026-06-21"), "resolution_due": noon("2026-06-23")},
        )  # fmt: skip
        message_id = connection.execute(
            insert(messages).returning(messages.c.id),
            {"key": "newsletter:ann", "customer_id": ann, "template": "newsletter", "topic": "newsletter",
             "channel": "email", "address": "ann@example.com", "status": "sent", "detail": "", "attempts": 1,
             "created_at": noon("2026-04-01")},
        ).scalar_one()  # fmt: skip
        connection.execute(
            insert(message_events), {"message_id": message_id, "kind": "open", "at": noon("2026-04-02")}
        )
        connection.execute(
            insert(loyalty_accounts),
            {"customer_id": ann, "balance": 150, "pending": 0, "referral_code": "ANN150",
             "referral_code_expires_at": NOW + timedelta(days=300), "joined_at": noon("2025-01-10"),
             "updated_at": NOW},
        )  # fmt: skip
        connection.execute(
            insert(loyalty_ledger),
            {"key": "earn:ann", "customer_id": ann, "kind": "earn", "source": "order", "points": 150,
             "pending": 0, "balance_after": 150, "pending_after": 0, "shortfall": 0, "reason": "order #1002",
             "at": noon("2026-02-10") + timedelta(hours=1)},
        )  # fmt: skip
    return ids


def figure(page: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert found, f"no figure {name!r} on the page"
    return found.group(1).strip()


def kinds(page: str) -> list[str]:
    return re.findall(r'data-kind="(\w+)"', page)


def row(page: str, marker: str) -> str:
    """The table row carrying ``marker`` (e.g. ``data-cohort="2025-09"``)."""
    found = re.search(rf"<tr {marker}>(.*?)</tr>", page, re.S)
    assert found, f"no row {marker!r}"
    return found.group(1)


# --- overview --------------------------------------------------------------------------------


def test_the_overview_shows_the_year_worked_out_by_hand(app: App) -> None:
    ids = build(app)
    page = member(app, "viewer").get("/")
    assert page.status_code == 200
    assert figure(page.text, "customers") == "4"
    assert figure(page.text, "orders") == "6"
    assert figure(page.text, "revenue") == "USD 360.00"
    assert figure(page.text, "date-range") == "2024-01-01 to 2026-05-20"
    # Active at the start (last order on or after 2024-07-01): ann, bob; at the end (on or
    # after 2025-07-01): ann, cat; new and still active: cat. (2 - 1) / 2.
    assert figure(page.text, "retention-rate") == "50.0%"
    assert figure(page.text, "churn-rate") == "50.0%"
    assert figure(page.text, "repeat-purchase-rate") == "50.0%"  # ann and cat of four
    # Orders in the year: ann 50.00, cat 40.00 and 60.00.
    assert figure(page.text, "average-order-value") == "USD 50.00"
    # 50.00 a order x 1.5 orders a year x 2 years (yearly churn 0.5).
    assert figure(page.text, "historical-clv") == "USD 150.00"
    assert figure(page.text, "nps") == "+33"  # 2 promoters, 1 detractor of 3
    assert figure(page.text, "revenue-new") == "USD 100.00"
    assert figure(page.text, "revenue-returning") == "USD 50.00"
    assert "<title>2026-05: new USD 0.00, returning USD 60.00</title>" in page.text
    assert "<title>2025-09: new USD 40.00, returning USD 0.00</title>" in page.text
    assert 'aria-label="NPS by month: +100 in 2026-01, -100 in 2026-06"' in page.text
    # Alerts: ann is the one valuable customer past the churn threshold; her ticket is late.
    assert figure(page.text, "warning-signs") == "1"
    assert f'href="/customers/{ids["ann"]}">ann</a>' in page.text
    assert figure(page.text, "overdue") == "1"


def test_the_overview_keeps_its_figures_and_brings_them_up_to_date(sqlite_app: App) -> None:
    ids = build(sqlite_app)
    client = member(sqlite_app)
    assert figure(client.get("/").text, "orders") == "6"
    with sqlite_app.unit_of_work() as uow:
        kept = uow.settings.get("insight:overview")
    assert kept["summary"]["orders"] == 6
    assert kept["computed_at"] == NOW.isoformat()

    Shop(sqlite_app, _numbers=itertools.count(2001)).order(ids["dan"], noon("2026-06-29"), 2_000)
    recent = client.get("/")  # figures five minutes old or less are shown as they are
    assert figure(recent.text, "orders") == "6"
    assert "new figures are being" not in recent.text
    sqlite_app.now = lambda: NOW + timedelta(minutes=10)
    stale = client.get("/")
    assert figure(stale.text, "orders") == "6"  # the kept figures, shown at once
    assert "new figures are being" in stale.text
    fresh = client.get("/")  # the refresh ran after the last response
    assert figure(fresh.text, "orders") == "7"
    assert "new figures are being" not in fresh.text


def test_anyone_signed_in_can_ask_for_new_figures(sqlite_app: App) -> None:
    build(sqlite_app)
    client = member(sqlite_app, "viewer")
    client.get("/cohorts")
    sqlite_app.now = lambda: NOW + timedelta(minutes=1)
    answer = client.post("/figures/refresh", data={"next": "/cohorts"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/cohorts"
    with sqlite_app.unit_of_work() as uow:
        assert uow.settings.get("insight:cohorts")["computed_at"] == (NOW + timedelta(minutes=1)).isoformat()
    del client.headers["X-CSRF-Token"]
    assert client.post("/figures/refresh", data={"next": "/"}).status_code == 403


def test_the_worker_refreshes_only_changed_and_older_figures(sqlite_app: App) -> None:
    ids = build(sqlite_app)
    shop = Shop(sqlite_app, _numbers=itertools.count(2001))
    first = refresh_if_stale(sqlite_app)
    assert first is not None
    assert first.figures["overview"]["summary"]["orders"] == 6
    sqlite_app.now = lambda: NOW + timedelta(minutes=20)
    assert refresh_if_stale(sqlite_app) is None  # old enough, but nothing changed
    shop.order(ids["dan"], noon("2026-06-29"), 2_000)
    again = refresh_if_stale(sqlite_app)
    assert again is not None
    assert again.figures["overview"]["summary"]["orders"] == 7
    assert again.figures["segments"]["customers"] == 4
    sqlite_app.now = lambda: NOW + timedelta(minutes=25)
    shop.order(ids["bob"], noon("2026-06-29"), 2_000)
    assert refresh_if_stale(sqlite_app) is None  # changed, but computed five minutes ago


def test_an_empty_store_says_what_to_do(sqlite_app: App) -> None:
    client = member(sqlite_app, "viewer")
    for path in ("/", "/cohorts", "/segments", "/customers"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "retain import orders" in page.text, path
    assert "No orders imported yet" in client.get("/").text
    assert "No customers yet" in client.get("/customers").text


def test_pages_need_a_signed_in_member(sqlite_app: App) -> None:
    ids = build(sqlite_app)
    anonymous = TestClient(create_app(sqlite_app))
    for path in (
        "/",
        "/cohorts",
        "/segments",
        "/segments/rfm:Champions",
        "/customers",
        f"/customers/{ids['ann']}",
    ):
        answer = anonymous.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next="), path


# --- cohorts ---------------------------------------------------------------------------------


def test_the_cohort_heatmap_shows_who_came_back(sqlite_app: App) -> None:
    build(sqlite_app)
    client = member(sqlite_app, "viewer")
    page = client.get("/cohorts").text
    cat = row(page, 'data-cohort="2025-09"')  # cat alone, back in 2026-05: 8 months later
    assert 'data-figure="size">1<' in cat
    assert re.search(
        r'data-age="8" style="background-color: rgba\(11, 110, 79, 0\.93\); color: #fff">100%<', cat
    )
    assert re.search(r'data-age="1" style="[^"]*">0%<', cat)
    assert 'data-age="9"' not in cat  # no later month has happened for anyone
    ann = row(page, 'data-cohort="2025-01"')
    assert re.search(r'data-age="13" style="[^"]*">100%<', ann)
    assert 'class="table-wrap"' in page

    quarters = client.get("/cohorts?by=quarter&metric=revenue").text
    assert re.search(r'data-age="3" style="[^"]*">USD 60.00<', row(quarters, 'data-cohort="2025-Q3"'))


# --- segments --------------------------------------------------------------------------------


def test_the_rfm_grid_and_segment_values(sqlite_app: App) -> None:
    build(sqlite_app)
    page = member(sqlite_app, "viewer").get("/segments").text
    # Recency 1-5 by quintile of days since the last order: dan 1, bob 2, ann 4, cat 5;
    # frequency: one order 1, two orders 4.
    cell = re.search(r'data-cell="54">(.*?)</td>', page, re.S)
    assert cell
    assert ">1<" in cell.group(1)
    assert "Champions" in cell.group(1)
    champions = row(page, 'data-segment="rfm:Champions"')
    assert 'data-figure="customers">1<' in champions
    assert 'data-figure="revenue">USD 100.00<' in champions
    assert 'data-figure="share">27.8%<' in champions  # 100 of 360
    loyal = row(page, 'data-segment="group:loyal"')  # active, two orders, recency 3+: ann and cat
    assert 'data-figure="customers">2<' in loyal
    assert 'data-figure="revenue">USD 250.00<' in loyal
    assert 'href="/segments/rfm:Can%27t%20Lose%20Them"' not in page  # nobody there: no link
    assert 'href="/segments/rfm:Lost"' in page


def test_a_marketer_starts_a_flow_for_a_segment(sqlite_app: App) -> None:
    ids = build(sqlite_app)
    client = member(sqlite_app, "marketer")
    before = client.get("/segments/rfm:Champions")
    assert "Members are not stored yet" in before.text
    assert 'action="/segments-flow"' in before.text
    answer = client.post(
        "/segments-flow",
        data={"segment": "rfm:Champions", "template": "newsletter", "title": "Summer news", "at": ""},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    name = "segment-champions-20260630-1200"
    assert answer.headers["location"] == f"/segments/rfm:Champions?started={name}"
    with sqlite_app.unit_of_work() as uow:
        document, enabled = uow.flows.definitions()[name]
        assert uow.segments.members("rfm:Champions") == {ids["cat"]}
    assert enabled
    assert document["title"] == "Summer news"
    assert document["trigger"] == {"kind": "schedule", "at": NOW.isoformat(), "segment": "rfm:Champions"}
    assert [step["template"] for step in document["steps"]] == ["newsletter"]

    after = client.get(answer.headers["location"]).text
    assert f'href="/customers/{ids["cat"]}">cat</a>' in after
    assert f"Flow <strong>{name}</strong>" in after
    # The engine's next round enters the segment's one member (held out or not).
    report = plan(enabled_flows(sqlite_app), sqlite_app.unit_of_work, NOW + timedelta(minutes=1))
    assert report.entered.get(name, 0) + report.held_out.get(name, 0) == 1


def test_starting_a_flow_needs_marketing_and_the_form_token(sqlite_app: App) -> None:
    build(sqlite_app)
    form = {"segment": "rfm:Champions", "template": "newsletter"}
    viewer = member(sqlite_app, "viewer")
    assert viewer.post("/segments-flow", data=form).status_code == 403
    assert 'action="/segments-flow"' not in viewer.get("/segments/rfm:Champions").text
    marketer = member(sqlite_app, "marketer")
    del marketer.headers["X-CSRF-Token"]
    refused = marketer.post("/segments-flow", data=form)
    assert refused.status_code == 403
    assert "form expired" in refused.text
    with sqlite_app.unit_of_work() as uow:
        assert not [n for n in uow.flows.definitions() if n.startswith("segment-")]


def test_a_flow_for_an_unknown_segment_or_template_is_refused(sqlite_app: App) -> None:
    build(sqlite_app)
    client = member(sqlite_app, "marketer")
    wrong = client.post("/segments-flow", data={"segment": "rfm:Champions", "template": "nope"})
    assert wrong.status_code == 422
    assert "unknown template &#39;nope&#39;" in wrong.text
    assert (
        client.post("/segments-flow", data={"segment": "rfm:Nobody", "template": "newsletter"}).status_code
        == 404
    )
    with sqlite_app.unit_of_work() as uow:
        assert not [n for n in uow.flows.definitions() if n.startswith("segment-")]


# --- customers -------------------------------------------------------------------------------


def test_the_customer_list_searches_and_pages(sqlite_app: App) -> None:
    ids = build(sqlite_app)
    client = member(sqlite_app, "viewer")
    found = client.get("/customers?q=ANN").text
    assert re.findall(r'data-customer="(\d+)"', found) == [str(ids["ann"])]
    assert 'data-figure="orders">2<' in found
    exact = client.get("/customers?q=cat@example.com").text  # a whole address: the index
    assert re.findall(r'data-customer="(\d+)"', exact) == [str(ids["cat"])]
    shop = Shop(sqlite_app)
    for n in range(50):
        shop.customer(f"more{n}@example.com")
    first = client.get("/customers").text
    assert len(re.findall(r'data-customer="', first)) == 50
    assert 'rel="next"' in first
    second = client.get("/customers?page=2").text
    assert len(re.findall(r'data-customer="', second)) == 4
    assert 'rel="prev"' in second
    assert "No customer" in client.get("/customers?q=zzz").text


def test_the_customer_page_tells_the_whole_story(sqlite_app: App) -> None:
    ids = build(sqlite_app)
    page = member(sqlite_app, "viewer").get(f"/customers/{ids['ann']}").text
    assert figure(page, "email") == "ann@example.com"
    assert figure(page, "orders") == "2"
    assert figure(page, "revenue") == "USD 150.00"
    assert figure(page, "points") == "150"
    assert figure(page, "predicted-clv") == "USD 300.00"
    assert figure(page, "churn") == "80%"
    assert page.index("P(alive) 30%") < page.index("within their usual 396 days")  # risers first
    assert "next order was expected by 2026-03-13: 109 days late" in page
    assert "140 days since the last order, within their usual 396 days between orders" in page
    # Newest first: the ticket, the newsletter opened and sent, the points and the order
    # that earned them, the NPS answer, the first order.
    assert kinds(page) == ["ticket", "message", "message", "points", "order", "feedback", "order"]
    for shown in (
        "Parcel never arrived",
        "Opened newsletter",
        "+150 points",
        "Order #1002",
        "nps 10: Lovely beans",
    ):
        assert shown in page
    assert member(sqlite_app, "viewer").get("/customers/999999").status_code == 404


def test_a_customer_without_predictions_or_history(sqlite_app: App) -> None:
    sqlite_app.now = lambda: NOW
    quiet = Shop(sqlite_app).customer("quiet@example.com")
    page = member(sqlite_app, "viewer").get(f"/customers/{quiet}").text
    assert "No prediction for this customer yet" in page
    assert "Nothing has happened with this customer yet" in page


def test_customer_names_are_escaped(sqlite_app: App) -> None:
    ids = build(sqlite_app)
    script = "<script>alert(1)</script>"
    with sqlite_app.engine.begin() as connection:
        connection.execute(update(customers).where(customers.c.id == ids["ann"]).values(name=script))
    client = member(sqlite_app, "viewer")
    for path in ("/customers", f"/customers/{ids['ann']}", "/"):
        page = client.get(path).text
        assert script not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
    searched = client.get("/customers", params={"q": script}).text
    assert script not in searched
    assert "&lt;script&gt;" in searched
