"""Listening through the API: survey figures, feedback, tickets and the action plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from retain.bootstrap import App
from retain.mailer import save_brand
from tests.signin import member
from tests.workspace.api_shop import ApiShop, assert_error
from tests.workspace.test_api_customers import walk
from tests.workspace.test_api_messages import BRAND


def test_the_surveys_add_up_to_an_nps(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ids = shop.seed()
    shop.nps(ids["bob"], 3)
    found = shop.client("read").get("/api/v1/surveys").json()
    assert found["nps"] == {"score": 0.0, "responses": 2, "promoters": 1, "passives": 0, "detractors": 1}
    assert "nps" in {s["kind"] for s in found["surveys"]}
    assert found["categories"]["delivery_shipping"]["negative"] == 2


def test_feedback_is_listed_newest_first_and_filtered(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    ids = shop.seed()
    shop.nps(ids["eve"], 8)
    client = shop.client("read")
    every, pages = walk(client, "/api/v1/feedback?limit=2")
    assert ([f["id"] for f in every], pages) == ([3, 2, 1], 2)
    complaints = client.get("/api/v1/feedback", params={"source": "complaint"}).json()["items"]
    assert [(f["customer_id"], f["text"]) for f in complaints] == [(ids["bob"], "My parcel never came")]
    ticket = complaints[0]["ticket_id"]
    assert [
        f["id"] for f in client.get("/api/v1/feedback", params={"ticket_id": ticket}).json()["items"]
    ] == [1]
    answers = client.get("/api/v1/feedback", params={"survey": "nps", "customer_id": ids["ann"]}).json()[
        "items"
    ]
    assert [f["score"] for f in answers] == [10]
    assert client.get("/api/v1/feedback", params={"team": "billing"}).json()["items"] == []
    assert client.get("/api/v1/feedback/1").json()["source"] == "complaint"
    assert_error(client.get("/api/v1/feedback/99"), 404, "not_found")
    assert_error(client.get("/api/v1/feedback", params={"source": "pigeon"}), 422, "invalid_request")


def test_an_agent_works_a_ticket_through_the_api(app: App) -> None:
    shop = ApiShop(app)
    ids = shop.seed()
    shop.complaint(ids["eve"], "Wrong colour")
    agent = member(app, "agent")
    waiting = agent.get("/api/v1/tickets", params={"status": ["open"]}).json()["items"]
    assert [t["customer_id"] for t in waiting] == [ids["bob"], ids["eve"]]
    taken = agent.patch("/api/v1/tickets/1", json={"assignee": "sam", "priority": "high"})
    assert taken.status_code == 200, taken.text
    assert (taken.json()["assignee"], taken.json()["priority"]) == ("sam", "high")
    assert [t["id"] for t in agent.get("/api/v1/tickets", params={"assignee": "sam"}).json()["items"]] == [1]
    note = agent.post("/api/v1/tickets/1/notes", json={"text": "Called the courier"})
    assert note.status_code == 201
    assert (note.json()["kind"], note.json()["author"], note.json()["body"]) == (
        "note",
        "Agent",
        "Called the courier",
    )
    resolved = agent.post("/api/v1/tickets/1/resolve", json={"reason": "replaced", "note": "Sent another"})
    assert (resolved.json()["status"], resolved.json()["resolution"]) == ("resolved", "replaced")
    assert_error(agent.post("/api/v1/tickets/1/resolve", json={"reason": "fixed"}), 409, "conflict")
    assert [
        t["id"] for t in agent.get("/api/v1/tickets", params={"status": ["resolved"]}).json()["items"]
    ] == [1]
    assert agent.post("/api/v1/tickets/1/reopen").json()["status"] == "open"
    assert_error(agent.post("/api/v1/tickets/1/reopen"), 409, "conflict")
    detail = agent.get("/api/v1/tickets/1").json()
    assert [f["text"] for f in detail["feedback"]] == ["My parcel never came"]
    history = [(n["kind"], n["author"], n["body"]) for n in detail["notes"]]
    assert ("event", "Agent", "assigned to sam") in history
    assert ("event", "Agent", "reopened") in history
    assert_error(agent.get("/api/v1/tickets/99"), 404, "not_found")
    assert_error(agent.patch("/api/v1/tickets/99", json={"priority": "low"}), 404, "not_found")
    assert_error(agent.patch("/api/v1/tickets/1", json={"priority": "whenever"}), 422, "invalid_request")
    assert_error(agent.patch("/api/v1/tickets/1", json={"assignee": "   "}), 422, "invalid_request")


def test_changing_tickets_needs_the_support_permission(sqlite_app: App) -> None:
    shop = ApiShop(sqlite_app)
    shop.seed()
    viewer = member(sqlite_app, "viewer")
    assert viewer.get("/api/v1/tickets").status_code == 200
    assert_error(viewer.patch("/api/v1/tickets/1", json={"assignee": "me"}), 403, "forbidden")
    assert_error(viewer.post("/api/v1/tickets/1/notes", json={"text": "hi"}), 403, "forbidden")
    assert_error(viewer.post("/api/v1/action-items/1/resolve", json={"note": "fixed"}), 403, "forbidden")
    assert shop.client("read").get("/api/v1/tickets/1").json()["ticket"]["assignee"] is None


def test_resolving_an_action_item_tells_the_customers_who_raised_it(
    sqlite_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("retain.web.api.feedback.OUTBOX", tmp_path)
    shop = ApiShop(sqlite_app)
    ids = shop.seed()
    client = shop.client("read", "support")
    items = client.get("/api/v1/action-items", params={"status": "open"}).json()["items"]
    assert [(i["category"], i["customers"], i["quotes"]) for i in items] == [
        ("delivery_shipping", 1, ["My parcel never came"])
    ]  # fmt: skip
    assert_error(client.post("/api/v1/action-items/1/resolve", json={"note": "New courier"}), 409, "no_brand")
    assert client.get("/api/v1/action-items/1").json()["status"] == "open"
    save_brand(sqlite_app, BRAND)
    closed = client.post("/api/v1/action-items/1/resolve", json={"note": "New courier"})
    assert closed.status_code == 200, closed.text
    assert closed.json() == {"item_id": 1, "told": [ids["bob"]], "not_told": []}
    assert len(list(tmp_path.rglob("*.eml"))) == 1
    assert client.get("/api/v1/action-items/1").json()["note"] == "New courier"
    assert_error(client.post("/api/v1/action-items/1/resolve", json={"note": "Again"}), 409, "conflict")
    assert_error(client.get("/api/v1/action-items/7"), 404, "not_found")
    assert client.get("/api/v1/action-items", params={"status": "open"}).json()["items"] == []
