"""The pages and endpoints customers answer through: surveys and reviews, the complaint page,
the survey and feedback APIs, and the easy goodbye."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from pydantic import SecretStr
from sqlalchemy import Table, func, select

from retain.bootstrap import App
from retain.config import Settings
from retain.domain.feedback import MAX_UPLOAD
from retain.messaging.links import MessageLinks
from retain.messaging.webhook import sign
from retain.store.tables import (
    attachments,
    contact_preferences,
    customer_events,
    customers,
    feedback,
    goodbyes,
    suppressions,
    tickets,
)
from retain.web.app import create_app
from tests.loyalty.conftest import Shop

SECRET = "a-secret-key-long-enough-to-sign"
HOOK = "feedback-hook-secret"
BASE = "https://retain.shop.example"
LINKS = MessageLinks(SECRET.encode(), BASE)
FORM_ID = "0123456789abcdef0123456789abcdef"
# The first bytes of a PNG file: enough for the page to know it is one.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def client(app: App) -> TestClient:
    chosen = Settings(secret_key=SecretStr(SECRET), public_url=BASE, feedback_webhook_secret=SecretStr(HOOK))
    return TestClient(create_app(app, chosen), follow_redirects=False)


@pytest.fixture
def ann(app: App) -> int:
    return Shop(app).customer("ann@example.com")


def path(url: str) -> str:
    return url.removeprefix(BASE)


def survey(customer: int, kind: str = "nps", key: str = "nps-1:ann") -> str:
    return path(LINKS.survey_url(customer, key, kind))


def count(app: App, table: Table, *where: Any) -> int:
    with app.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def consent(app: App, customer: int) -> bool | None:
    with app.engine.connect() as connection:
        value = connection.scalar(select(customers.c.marketing_consent).where(customers.c.id == customer))
    return value if value is None else bool(value)


def answer(client: TestClient, url: str, score: str, text: str = "") -> Response:
    return client.post(url, data={"score": score, "text": text})


# --- surveys and reviews -------------------------------------------------------------------


def test_the_nps_page_offers_eleven_labelled_choices_and_no_script(client: TestClient, ann: int) -> None:
    page = client.get(survey(ann))
    assert page.status_code == 200
    assert page.text.count('type="radio"') == 11
    assert "How likely are you to recommend us" in page.text
    assert "Not at all likely" in page.text
    assert "Extremely likely" in page.text
    assert '<label for="text"' in page.text
    assert '<textarea id="text"' in page.text
    assert "<script" not in page.text
    assert '<html lang="en">' in page.text
    assert "no-store" in page.headers["cache-control"]


def test_an_answer_is_kept_once_with_its_event(app: App, client: TestClient, ann: int) -> None:
    url = survey(ann)
    thanks = answer(client, url, "9", "Quick delivery, lovely coffee")
    assert thanks.status_code == 200
    assert "Thank you" in thanks.text
    assert count(app, feedback) == 1
    assert count(app, customer_events, customer_events.c.event == "survey_answered") == 1
    assert count(app, tickets) == 0  # a promoter asked for nothing

    again = answer(client, url, "3", "Changed my mind")
    assert again.status_code == 409
    assert "already answered" in again.text
    assert count(app, feedback) == 1
    shown = client.get(url)
    assert shown.status_code == 200
    assert "already answered" in shown.text
    assert 'type="radio"' not in shown.text


def test_a_detractor_opens_a_ticket_and_hears_someone_will_be_in_touch(
    app: App, client: TestClient, ann: int
) -> None:
    thanks = answer(client, survey(ann), "2", "The parcel came smashed")
    assert thanks.status_code == 200
    assert "will be in touch" in thanks.text
    assert count(app, tickets) == 1
    with app.engine.connect() as connection:
        row = connection.execute(select(feedback.c.source, feedback.c.survey, feedback.c.score)).one()
    assert tuple(row) == ("survey", "nps", 2)


@pytest.mark.parametrize("score", ["11", "-1", "abc", ""])
def test_a_score_off_the_scale_is_refused_and_the_words_kept(
    app: App, client: TestClient, ann: int, score: str
) -> None:
    refused = answer(client, survey(ann), score, "Words <b>worth</b> keeping")
    assert refused.status_code == 422
    assert 'class="error"' in refused.text
    assert "Words &lt;b&gt;worth&lt;/b&gt; keeping" in refused.text  # kept, and escaped
    assert count(app, feedback) == 0


def test_a_review_takes_one_to_five_stars(app: App, client: TestClient, ann: int) -> None:
    url = survey(ann, "review", "review-1:ann")
    assert url.startswith("/r/")
    page = client.get(url)
    assert page.text.count('type="radio"') == 5
    assert answer(client, url, "1", "Broke in a week").status_code == 200
    with app.engine.connect() as connection:
        assert connection.scalar(select(feedback.c.source)) == "review"
    assert count(app, tickets) == 1


def test_a_forged_or_foreign_link_gets_the_invalid_page(app: App, client: TestClient, ann: int) -> None:
    forged = MessageLinks(b"another-store-secret-key-123", BASE).survey_url(ann, "nps-1:ann", "nps")
    assert client.get(path(forged)).status_code == 400
    assert answer(client, path(forged), "9").status_code == 400
    unsubscribe = LINKS.token("unsubscribe", ann, "nps-1:ann")
    assert client.get(f"/s/{unsubscribe}").status_code == 400
    nps_as_review = survey(ann).replace("/s/", "/r/")
    assert client.get(nps_as_review).status_code == 400
    assert count(app, feedback) == 0


def test_an_expired_link_says_it_expired(app: App, client: TestClient, ann: int) -> None:
    a_month_and_a_day = time.time() - timedelta(days=31).total_seconds()
    with mock.patch("itsdangerous.timed.time.time", return_value=a_month_and_a_day):
        old = survey(ann)
    page = client.get(old)
    assert page.status_code == 400
    assert "expired" in page.text
    assert answer(client, old, "9").status_code == 400
    assert count(app, feedback) == 0


# --- the complaint page --------------------------------------------------------------------


def complaint_url(customer: int) -> str:
    return path(LINKS.url("complaint", customer, "miss-1:ann"))


def complain(client: TestClient, url: str, text: str, **extra: Any) -> Response:
    files = extra.pop("files", None)
    return client.post(url, data={"text": text, "form_id": FORM_ID, **extra}, files=files)


def test_a_complaint_opens_one_ticket_even_when_sent_twice(app: App, client: TestClient, ann: int) -> None:
    url = complaint_url(ann)
    page = client.get(url)
    assert page.status_code == 200
    assert re.search(r'name="form_id" value="[0-9a-f]{32}"', page.text)
    assert 'enctype="multipart/form-data"' in page.text
    assert "<script" not in page.text
    first = complain(client, url, "The mug arrived broken", order="#1042")
    assert first.status_code == 200
    with app.engine.connect() as connection:
        ticket = connection.scalar(select(tickets.c.id))
        kept = connection.execute(select(feedback.c.source, feedback.c.data)).one()
    assert f"Ticket #{ticket} is open; we reply within one working day" in first.text
    assert (kept.source, kept.data) == ("complaint", {"order": "#1042"})

    again = complain(client, url, "The mug arrived broken", order="#1042")
    assert again.status_code == 200
    assert f"Ticket #{ticket} is open" in again.text
    assert count(app, tickets) == count(app, feedback) == 1


def test_an_empty_complaint_is_refused(app: App, client: TestClient, ann: int) -> None:
    refused = complain(client, complaint_url(ann), "   ", order="#1042")
    assert refused.status_code == 422
    assert "tell us what went wrong" in refused.text
    assert 'value="#1042"' in refused.text
    assert count(app, feedback) == count(app, tickets) == 0


def test_a_file_too_big_is_refused_and_the_words_kept(app: App, client: TestClient, ann: int) -> None:
    big = PNG + b"\x00" * (MAX_UPLOAD + 1 - len(PNG))
    refused = complain(
        client, complaint_url(ann), "Scratched lid", files={"file": ("lid.png", big, "image/png")}
    )
    assert refused.status_code == 413
    assert "5 MB" in refused.text
    assert "Scratched lid" in refused.text
    assert count(app, feedback) == count(app, attachments) == 0


def test_a_file_of_another_kind_is_refused(app: App, client: TestClient, ann: int) -> None:
    script = ("photo.png", b"<html><script>alert(1)</script></html>", "image/png")  # not what it says
    refused = complain(client, complaint_url(ann), "See attached", files={"file": script})
    assert refused.status_code == 415
    assert "only photos" in refused.text
    assert count(app, feedback) == 0


def test_a_photo_is_kept_with_the_complaint(app: App, client: TestClient, ann: int) -> None:
    sent = complain(
        client,
        complaint_url(ann),
        "Dented tin",
        files={"file": ("C:\\Users\\ann\\tin.png", PNG, "image/png")},
    )
    assert sent.status_code == 200
    with app.engine.connect() as connection:
        kept = connection.execute(
            select(attachments.c.filename, attachments.c.content_type, attachments.c.size)
        ).one()
    assert tuple(kept) == ("tin.png", "image/png", len(PNG))


def test_the_complaint_page_refuses_a_bad_link(app: App, client: TestClient, ann: int) -> None:
    survey_token = survey(ann).rsplit("/", 1)[1]
    assert client.get(f"/complaint/{survey_token}").status_code == 400
    assert complain(client, f"/complaint/{survey_token}", "Broken").status_code == 400
    assert count(app, feedback) == 0


# --- the JSON APIs -------------------------------------------------------------------------


def test_a_survey_answered_by_api(app: App, client: TestClient, ann: int) -> None:
    url = f"/api/v1/surveys/{survey(ann).rsplit('/', 1)[1]}"
    out_of_range = client.post(url, json={"score": 11})
    assert out_of_range.status_code == 422
    assert out_of_range.json()["error"]["code"] == "invalid_answer"
    created = client.post(url, json={"score": 4, "text": "Support never answered my emails"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"feedback_id", "ticket_id", "category", "sentiment"}
    assert body["sentiment"] == "negative"
    assert body["ticket_id"] is not None
    again = client.post(url, json={"score": 10})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_answered"
    assert count(app, feedback) == 1

    review = f"/api/v1/surveys/{survey(ann, 'review', 'review-1:ann').rsplit('/', 1)[1]}"
    assert client.post(review, json={"score": 5}).status_code == 201
    forged = MessageLinks(b"another-store-secret-key-123", BASE).token("survey", ann, "k", "nps")
    refused = client.post(f"/api/v1/surveys/{forged}", json={"score": 9})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "bad_token"


def hook(client: TestClient, payload: dict[str, Any], secret: str = HOOK) -> Response:
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    headers = {"X-Retain-Timestamp": stamp, "X-Retain-Signature": sign(secret.encode(), stamp, body)}
    return client.post("/api/v1/feedback", content=body, headers=headers)


def test_the_feedback_webhook_keeps_a_review_once(app: App, client: TestClient, ann: int) -> None:
    review = {"ref": "trustpilot-77", "customer": "ANN@example.com", "kind": "review", "score": 2,
              "text": "Arrived late and cold"}  # fmt: skip
    assert hook(client, review, secret="wrong").status_code == 401
    assert client.post("/api/v1/feedback", content=json.dumps(review)).status_code == 401
    assert count(app, feedback) == 0

    created = hook(client, review)
    assert created.status_code == 201
    assert created.json()["duplicate"] is False
    again = hook(client, review)
    assert again.status_code == 200
    assert again.json() == {"feedback_id": created.json()["feedback_id"], "duplicate": True}
    assert count(app, feedback) == 1
    with app.engine.connect() as connection:
        row = connection.execute(select(feedback.c.ref, feedback.c.source, feedback.c.customer_id)).one()
    assert tuple(row) == ("api:trustpilot-77", "review", ann)

    unknown = hook(client, {"ref": "tp-78", "customer": "nobody@example.com", "text": "Hi"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_customer"
    assert hook(client, {"ref": "tp-79", "score": 3}).status_code == 422  # a score needs its kind
    assert count(app, feedback) == 1


def test_the_feedback_webhook_is_off_without_a_secret(app: App) -> None:
    client = TestClient(create_app(app, Settings(secret_key=SecretStr(SECRET))))
    refused = client.post("/api/v1/feedback", content=b"{}")
    assert refused.status_code == 403
    assert "RETAIN_FEEDBACK_WEBHOOK_SECRET" in refused.json()["error"]["message"]


# --- the easy goodbye ----------------------------------------------------------------------


def goodbye_url(customer: int) -> str:
    return path(LINKS.url("unsubscribe", customer, "miss-1:ann"))


def test_the_goodbye_page_makes_its_offer_once(client: TestClient, ann: int) -> None:
    first = client.get(goodbye_url(ann))
    assert first.status_code == 200
    assert first.text.count("<form") == 1
    assert 'value="unsubscribe"' in first.text
    assert 'value="close_account"' in first.text
    assert first.text.count('name="reason"') == 7
    assert "checked" not in first.text  # no reason chosen for anyone
    assert 'value="fewer_emails"' in first.text
    second = client.get(goodbye_url(ann))
    assert second.status_code == 200
    assert 'value="unsubscribe"' in second.text
    assert 'value="fewer_emails"' not in second.text


def test_unsubscribing_with_a_reason_keeps_the_reason(app: App, client: TestClient, ann: int) -> None:
    done = client.post(goodbye_url(ann), data={"action": "unsubscribe", "reason": "too_many"})
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    assert consent(app, ann) is False
    with app.engine.connect() as connection:
        assert tuple(connection.execute(select(goodbyes.c.action, goodbyes.c.reason)).one()) == (
            "unsubscribe",
            "too_many",
        )


def test_closing_the_account_suppresses_the_address(app: App, client: TestClient, ann: int) -> None:
    done = client.post(goodbye_url(ann), data={"action": "close_account"})
    assert done.status_code == 200
    assert "account is closed" in done.text
    assert consent(app, ann) is False
    assert count(app, suppressions, suppressions.c.address == "ann@example.com") == 1
    assert count(app, goodbyes, goodbyes.c.action == "close_account", goodbyes.c.reason.is_(None)) == 1


def test_fewer_emails_keeps_consent_and_sends_monthly(app: App, client: TestClient, ann: int) -> None:
    done = client.post(goodbye_url(ann), data={"action": "fewer_emails"})
    assert done.status_code == 200
    assert "one email a month" in done.text
    assert consent(app, ann) is True
    with app.engine.connect() as connection:
        assert connection.scalar(select(contact_preferences.c.frequency)) == "monthly"
    assert count(app, suppressions) == 0


def test_a_one_click_request_still_just_unsubscribes(app: App, client: TestClient, ann: int) -> None:
    done = client.post(
        goodbye_url(ann),
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200
    assert consent(app, ann) is False
    assert count(app, goodbyes) == 0
