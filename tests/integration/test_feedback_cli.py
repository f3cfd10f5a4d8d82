"""``retain feedback``, ``retain tickets``, ``retain team`` and ``retain customer`` on a real
store, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from retain import listening
from retain.bootstrap import App
from retain.cli.ui import console
from retain.domain.surveys import answer
from retain.service import feedback
from retain.service.feedback import Incoming
from tests.integration.conftest import run
from tests.integration.test_messages_cli import BRAND
from tests.loyalty.conftest import Shop

ANN = "ann@example.com"
BOB = "bob@example.com"
BROKEN = "The mug arrived broken, I want a new one"
BASE = datetime(2026, 3, 2, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as they need, so no cell is wrapped."""
    monkeypatch.setattr(console, "width", 200)


@pytest.fixture
def store(app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A store with two customers; mail goes to files, links are signed with a fixed key, and
    the working directory is the test's own."""
    monkeypatch.delenv("RETAIN_SMTP_URL", raising=False)
    monkeypatch.delenv("RETAIN_MAIL_FROM", raising=False)
    monkeypatch.setenv("RETAIN_SECRET_KEY", "a-secret-key-long-enough-to-sign")
    monkeypatch.chdir(tmp_path)
    shop = Shop(app)
    shop.customer(ANN)
    shop.customer(BOB)
    return app.url


def ok(cli: CliRunner, db: str, *args: str) -> str:
    code, output = run(cli, db, *args)
    assert code == 0, output
    return output


def data(cli: CliRunner, db: str, *args: str) -> Any:
    """What ``retain ARGS --json`` prints."""
    return json.loads(ok(cli, db, *args, "--json"))


def complain(cli: CliRunner, db: str, who: str = ANN, text: str = BROKEN) -> int:
    """A complaint by ``who``; the ticket it opened."""
    added = data(cli, db, "feedback", "add", text, "--customer", who, "--source", "complaint")
    assert added["ticket_id"] is not None
    return int(added["ticket_id"])


def refused(cli: CliRunner, db: str, *args: str) -> str:
    code, output = run(cli, db, *args)
    assert code == 2, output
    return output


def ticket_of(cli: CliRunner, db: str, ticket_id: int) -> dict[str, Any]:
    found: dict[str, Any] = data(cli, db, "tickets", "show", str(ticket_id))
    return found


def customer_of(app: App, email: str) -> int:
    return listening.customer_id(app, email)


# --- feedback ------------------------------------------------------------------------------------


def test_added_feedback_is_listed_and_counted(cli: CliRunner, store: str) -> None:
    added = data(cli, store, "feedback", "add", BROKEN, "--customer", ANN, "--source", "complaint")
    assert added["duplicate"] is False
    assert added["ticket_id"] is not None
    listed = data(cli, store, "feedback", "list")
    assert [(row["id"], row["email"], row["text"]) for row in listed] == [(added["feedback_id"], ANN, BROKEN)]
    assert listed[0]["team"] == added["team"]
    assert data(cli, store, "feedback", "list", "--team", added["team"]) == listed
    assert data(cli, store, "feedback", "list", "--customer", BOB) == []
    output = ok(cli, store, "feedback", "list")
    assert "ann@example.com" in output
    assert f"#{added['ticket_id']}" in output
    counts = data(cli, store, "feedback", "report")["categories"][added["category"]]
    assert sum(counts.get(mood, 0) for mood in ("negative", "neutral", "positive")) == 1


def test_the_same_ref_is_recorded_once(cli: CliRunner, store: str) -> None:
    args = ("feedback", "add", "Lovely beans", "--customer", BOB, "--survey", "review", "--score", "5")
    first = data(cli, store, *args, "--ref", "shop-review-7")
    again = data(cli, store, *args, "--ref", "shop-review-7")
    assert (again["duplicate"], again["feedback_id"]) == (True, first["feedback_id"])
    assert "already recorded" in ok(cli, store, *args, "--ref", "shop-review-7")
    assert len(data(cli, store, "feedback", "list")) == 1
    assert data(cli, store, "feedback", "report")["ratings"] == {"review": {"mean": 5.0, "answers": 1}}


@pytest.mark.parametrize(
    ("scores", "nps", "split"),
    [([10, 9, 8, 7, 6, 0], 0.0, (2, 2, 2)), ([10, 10, 0], 100 / 3, (2, 0, 1))],
)
def test_the_nps_in_the_report(
    cli: CliRunner, store: str, scores: list[int], nps: float, split: tuple[int, int, int]
) -> None:
    for score in scores:
        ok(
            cli,
            store,
            "feedback",
            "add",
            "Because",
            "--customer",
            BOB,
            "--survey",
            "nps",
            "--score",
            str(score),
        )
    found = data(cli, store, "feedback", "report")["nps"]
    assert found["score"] == pytest.approx(nps)
    assert (found["promoters"], found["passives"], found["detractors"]) == split
    assert found["responses"] == len(scores)
    assert "NPS by month" in ok(cli, store, "feedback", "report")


def test_the_nps_by_month(cli: CliRunner, store: str, app: App) -> None:
    bob = customer_of(app, BOB)
    for month, scores in ((1, (10, 9, 8)), (2, (7, 6, 0))):
        for i, score in enumerate(scores):
            incoming = Incoming(f"nps:{month}:{i}", "survey", "", bob, answer("nps", score))
            listening.receive(app, incoming, datetime(2026, month, 10, tzinfo=UTC))
    found = data(cli, store, "feedback", "report")
    assert found["nps"]["score"] == 0.0
    months = {month: figures["score"] for month, figures in found["nps_by_month"].items()}
    assert months == {"2026-01": pytest.approx(200 / 3), "2026-02": pytest.approx(-200 / 3)}


def test_bad_feedback_is_refused_and_nothing_is_kept(cli: CliRunner, store: str) -> None:
    add = ("feedback", "add", "Meh")
    assert "from 0 to 10, not 11" in refused(
        cli, store, *add, "--customer", BOB, "--survey", "nps", "--score", "11"
    )
    assert "--score needs --survey" in refused(cli, store, *add, "--customer", BOB, "--score", "3")
    assert "no source 'goodbye'" in refused(cli, store, *add, "--customer", BOB, "--source", "goodbye")
    assert "no customer 'nobody@example.com'" in refused(cli, store, *add, "--customer", "nobody@example.com")
    assert "the feedback is empty" in refused(
        cli, store, "feedback", "add", "  ", "--customer", BOB, "--source", "complaint"
    )
    assert "no team 'sales'" in refused(cli, store, "feedback", "list", "--team", "sales")
    assert data(cli, store, "feedback", "list") == []
    assert data(cli, store, "tickets", "list") == []


# --- tickets -------------------------------------------------------------------------------------


def test_a_complaint_is_worked_through_to_its_resolution(cli: CliRunner, store: str) -> None:
    ticket_id = complain(cli, store)
    (listed,) = data(cli, store, "tickets", "list")
    assert (listed["id"], listed["status"], listed["email"]) == (ticket_id, "open", ANN)
    assert listed["sla"]["clock"] == "first_response"
    assert listed["sla"]["overdue"] is False
    assert "first response due in 23h" in ok(cli, store, "tickets", "list")

    ok(cli, store, "tickets", "assign", str(ticket_id), "sam")
    ok(cli, store, "tickets", "priority", str(ticket_id), "urgent")
    ok(cli, store, "tickets", "note", str(ticket_id), "Called her: she wants a new mug", "--author", "lee")
    assert "the reason must be one of fixed" in refused(
        cli, store, "tickets", "resolve", str(ticket_id), "--reason", "lost"
    )
    before = ticket_of(cli, store, ticket_id)
    assert before["ticket"]["status"] == "open"
    assert len(before["notes"]) == 4

    ok(cli, store, "tickets", "resolve", str(ticket_id), "--reason", "replaced", "--note", "sent a new mug")
    shown = ticket_of(cli, store, ticket_id)
    assert (shown["ticket"]["status"], shown["ticket"]["resolution"]) == ("resolved", "replaced")
    assert (shown["ticket"]["assignee"], shown["ticket"]["priority"]) == ("sam", "urgent")
    assert [(note["kind"], note["body"]) for note in shown["notes"]] == [
        ("event", f"opened from complaint #{shown['feedback'][0]['id']}"),
        ("event", "assigned to sam"),
        ("event", "priority set to urgent"),
        ("note", "Called her: she wants a new mug"),
        ("event", "resolved: replaced"),
    ]
    assert [piece["text"] for piece in shown["feedback"]] == [BROKEN]
    output = ok(cli, store, "tickets", "show", str(ticket_id))
    assert output.index("assigned to sam") < output.index("Called her") < output.index("resolved: replaced")

    assert data(cli, store, "tickets", "list") == []
    assert [t["id"] for t in data(cli, store, "tickets", "list", "--status", "resolved")] == [ticket_id]
    assert "status must be one of" in refused(cli, store, "tickets", "list", "--status", "closed")
    ok(cli, store, "tickets", "reopen", str(ticket_id))
    assert ticket_of(cli, store, ticket_id)["ticket"]["status"] == "open"


def test_changes_to_a_missing_ticket_are_refused(cli: CliRunner, store: str) -> None:
    assert "no ticket 42" in refused(cli, store, "tickets", "show", "42")
    assert "no ticket 42" in refused(cli, store, "tickets", "assign", "42", "sam")
    ticket_id = complain(cli, store)
    assert "priority must be one of" in refused(cli, store, "tickets", "priority", str(ticket_id), "asap")
    assert "the note is empty" in refused(cli, store, "tickets", "note", str(ticket_id), " ")
    assert len(ticket_of(cli, store, ticket_id)["notes"]) == 1


def test_the_sla_check_reminds_a_late_ticket_once(cli: CliRunner, store: str, app: App) -> None:
    incoming = Incoming("complaint:late", "complaint", "Where is my order?", customer_of(app, ANN))
    late = feedback.receive(
        incoming, session=app.unit_of_work, classify=listening.classify, now=app.now() - timedelta(hours=25)
    )
    assert late.ticket_id is not None
    (listed,) = data(cli, store, "tickets", "list")
    assert (listed["sla"]["clock"], listed["sla"]["overdue"]) == ("first_response", True)
    assert "first response overdue by 1h" in ok(cli, store, "tickets", "list")
    assert data(cli, store, "tickets", "check") == {"reminded": [late.ticket_id], "escalated": []}
    assert data(cli, store, "tickets", "check") == {"reminded": [], "escalated": []}
    reminders = [n for n in ticket_of(cli, store, late.ticket_id)["notes"] if "reminded" in n["body"]]
    assert len(reminders) == 1


def test_a_reply_goes_to_the_customer_and_into_the_ticket(cli: CliRunner, store: str, tmp_path: Path) -> None:
    ticket_id = complain(cli, store)
    outbox = tmp_path / "out"
    reply = ("tickets", "reply", str(ticket_id), "A new mug is on its way.", "--outbox", str(outbox))
    assert "retain messages brand" in refused(cli, store, *reply)
    assert [n["kind"] for n in ticket_of(cli, store, ticket_id)["notes"]] == ["event"]
    ok(cli, store, *BRAND)
    assert "into the outbox" in ok(cli, store, *reply, "--author", "sam")
    (sent,) = outbox.glob("*.eml")
    assert "A new mug is on its way." in sent.read_text(encoding="utf-8")
    shown = ticket_of(cli, store, ticket_id)
    assert shown["ticket"]["status"] == "pending"
    assert shown["ticket"]["first_response_at"] is not None
    assert [(n["kind"], n["author"], n["body"]) for n in shown["notes"][1:]] == [
        ("reply", "sam", "A new mug is on its way.")
    ]


# --- the action plan -----------------------------------------------------------------------------


def test_resolving_an_action_item_tells_who_raised_it(cli: CliRunner, store: str, tmp_path: Path) -> None:
    for who in (ANN, BOB):
        ok(cli, store, "feedback", "add", "Delivery took three weeks", "--customer", who,
           "--survey", "review", "--score", "1")  # fmt: skip
    (item,) = data(cli, store, "feedback", "actions")
    assert (item["status"], item["feedback"], item["customers"], item["notified"]) == ("open", 2, 2, 0)
    assert item["trend"][-1] == 2
    assert item["quotes"] == ["Delivery took three weeks", "Delivery took three weeks"]
    assert "▁▁▁▁▁▁▁█" in ok(cli, store, "feedback", "actions")

    outbox = tmp_path / "out"
    resolve = ("feedback", "resolve", str(item["id"]), "--note", "We moved to a faster courier.")
    assert "retain messages brand" in refused(cli, store, *resolve, "--outbox", str(outbox))
    assert data(cli, store, "feedback", "actions", "--status", "open") == [item]

    ok(cli, store, *BRAND)
    closed = data(cli, store, *resolve, "--by", "lee", "--outbox", str(outbox))
    assert sorted(c["email"] for c in closed["told"]) == [ANN, BOB]
    assert closed["not_told"] == []
    assert len(list(outbox.glob("*.eml"))) == 2
    notices = data(cli, store, "feedback", "notified", str(item["id"]))
    assert sorted(n["email"] for n in notices) == [ANN, BOB]
    assert ANN in ok(cli, store, "feedback", "notified", str(item["id"]))
    (done,) = data(cli, store, "feedback", "actions", "--status", "resolved")
    assert (done["notified"], done["note"]) == (2, "We moved to a faster courier.")
    assert "resolved already" in refused(cli, store, *resolve, "--outbox", str(outbox))
    assert len(list(outbox.glob("*.eml"))) == 2
    assert "no action item 99" in refused(cli, store, "feedback", "notified", "99")


# --- the team ------------------------------------------------------------------------------------


def _handled(app: App, ref: str, opened: datetime, replied: float, resolved: float) -> int:
    """A complaint sam answered ``replied`` hours after it came in and resolved at ``resolved``."""
    incoming = Incoming(ref, "complaint", BROKEN, customer_of(app, ANN))
    received = feedback.receive(incoming, session=app.unit_of_work, classify=listening.classify, now=opened)
    ticket_id = received.ticket_id
    assert ticket_id is not None
    feedback.assign(app.unit_of_work, ticket_id, "sam", "lead", opened)
    feedback.record_reply(
        app.unit_of_work, ticket_id, "sam", "On it", f"{ref}:reply", opened + timedelta(hours=replied)
    )
    feedback.resolve(app.unit_of_work, ticket_id, "replaced", "", "sam", opened + timedelta(hours=resolved))
    return ticket_id


def test_the_team_figures_against_the_goals_and_kudos(cli: CliRunner, store: str, app: App) -> None:
    first = _handled(app, "complaint:a", BASE, 2, 6)
    _handled(app, "complaint:b", BASE + timedelta(days=1), 4, 10)
    ok(
        cli,
        store,
        "team",
        "kudos",
        "sam",
        "Calmed a furious customer",
        "--from",
        "lee",
        "--ticket",
        str(first),
    )
    assert "no ticket 99" in refused(cli, store, "team", "kudos", "sam", "Thanks", "--ticket", "99")
    assert "kudos need an agent and a message" in refused(cli, store, "team", "kudos", "sam", " ")

    found = data(cli, store, "team")
    assert found["goals"] == {
        "first_response_hours": 24.0,
        "resolution_hours": 72.0,
        "csat": 4.5,
        "saved": None,
    }
    (sam,) = found["agents"]
    assert (sam["agent"], sam["resolved"], sam["open"], sam["kudos"]) == ("sam", 2, 0, 1)
    assert (sam["median_first_response_hours"], sam["median_resolution_hours"]) == (3.0, 8.0)
    assert sam["met"] == {"first_response_hours": True, "resolution_hours": True, "csat": None, "saved": None}
    output = ok(cli, store, "team")
    assert "3.0 h ✓" in output
    assert "8.0 h ✓" in output

    (given,) = data(cli, store, "team", "kudos-list")
    assert (given["agent"], given["giver"], given["ticket_id"]) == ("sam", "lee", first)
    assert "Calmed a furious customer" in ok(cli, store, "team", "kudos-list")

    goals = data(cli, store, "team", "goals", "--first-response-hours", "2", "--saved", "1")
    assert goals == {"first_response_hours": 2.0, "resolution_hours": 72.0, "csat": 4.5, "saved": 1}
    assert "--csat must be from 1 to 5" in refused(cli, store, "team", "goals", "--csat", "7")
    assert data(cli, store, "team", "goals") == goals
    (sam,) = data(cli, store, "team")["agents"]
    assert sam["met"] == {
        "first_response_hours": False,
        "resolution_hours": True,
        "csat": None,
        "saved": False,
    }
    assert "3.0 h ✗" in ok(cli, store, "team")
    assert data(cli, store, "team", "goals", "--saved", "none")["saved"] is None


# --- one customer --------------------------------------------------------------------------------


def test_a_customer_at_a_glance(cli: CliRunner, store: str, app: App) -> None:
    Shop(app).order(customer_of(app, ANN), BASE)
    ticket_id = complain(cli, store)
    ok(cli, store, "feedback", "add", "Great coffee", "--customer", ANN, "--survey", "nps", "--score", "9")
    found = data(cli, store, "customer", "show", ANN)
    assert found["profile"]["email"] == ANN
    assert [order["number"] for order in found["orders"]] == ["#1001"]
    assert [t["id"] for t in found["tickets"]] == [ticket_id]
    assert [(f["source"], f["score"], f["text"]) for f in found["feedback"]] == [
        ("survey", 9, "Great coffee"), ("complaint", None, BROKEN),
    ]  # fmt: skip
    output = ok(cli, store, "customer", "show", ANN)
    for shown in ("Orders", "#1001", "USD 113.00", "Tickets", BROKEN, "nps 9"):
        assert shown in output
    assert "no customer 'nobody'" in refused(cli, store, "customer", "show", "nobody")


def test_customer_emails_become_tickets_once_and_bad_ones_are_reported(
    cli: CliRunner, store: str, tmp_path: Path
) -> None:
    reply = tmp_path / "reply.eml"
    reply.write_bytes(
        b"From: Ann <ann@example.com>\r\nSubject: Re: your order\r\nMessage-ID: <m1@example.com>\r\n\r\n"
        b"The lid of the teapot is cracked.\r\n\r\nOn Mon, Fernwood wrote:\r\n> Thanks for your order\r\n"
    )
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"From: bob@example.com\r\nSubject: hi\r\n\r\n> only a quote\r\n")
    code, output = run(cli, store, "feedback", "mail", str(reply), str(empty), "--json")
    assert code == 1, output
    taken, skipped = json.loads(output)
    assert taken["ticket_id"] is not None
    assert taken["duplicate"] is False
    assert "no text of its own" in skipped["error"]
    (again,) = data(cli, store, "feedback", "mail", str(reply))
    assert again["duplicate"] is True
    tickets = data(cli, store, "tickets", "list")
    assert [t["subject"] for t in tickets] == ["Re: your order"]
