"""The team page: each agent's figures against the goals, and kudos given from the page."""

from __future__ import annotations

from datetime import timedelta

from retain import listening
from retain.bootstrap import App
from retain.domain.tickets import Goals
from retain.service import feedback
from retain.service.feedback import Incoming
from tests.loyalty.conftest import Shop
from tests.signin import member


def test_the_team_page_shows_figures_against_goals_and_takes_kudos(app: App) -> None:
    ann = Shop(app).customer("ann@example.com")
    now = app.now()
    opened = feedback.receive(
        Incoming("complaint:1", "complaint", "The mug arrived broken", ann),
        session=app.unit_of_work, classify=listening.classify, now=now - timedelta(hours=10),
    )  # fmt: skip
    assert opened.ticket_id is not None
    feedback.assign(app.unit_of_work, opened.ticket_id, "Priya", "lead", now - timedelta(hours=10))
    feedback.resolve(app.unit_of_work, opened.ticket_id, "replaced", "", "Priya", now - timedelta(hours=4))
    listening.save_goals(app, Goals(first_response_hours=4, resolution_hours=8, csat=None))
    client = member(app, "agent")

    page = client.get("/team")
    assert page.status_code == 200
    row = page.text.split('data-agent="Priya"')[1].split("</tr>")[0]
    assert 'data-figure="resolved">1<' in row
    assert "6.0 h" in row  # first response (at resolution) and resolution, 6 hours each
    assert 'title="goal missed"' in row  # 6 h against 4 h and 8 h: one missed...
    assert 'title="goal met"' in row  # ...one met

    given = client.post("/team/kudos", data={"agent": "Priya", "message": "Calmed a furious customer"})
    assert given.status_code == 200  # followed the redirect back to the page
    assert "Calmed a furious customer" in given.text
    assert 'data-figure="kudos">1<' in given.text

    empty = client.post("/team/kudos", data={"agent": "Priya", "message": "  "})
    assert empty.status_code == 422
    assert "kudos need an agent and a message" in empty.text
    with app.unit_of_work() as uow:
        assert len(uow.feedback.kudos()) == 1
