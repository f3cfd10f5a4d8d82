"""The dashboard's work pages, driven as a person would drive them: flows switched on and off
and edited, templates previewed, tickets worked, action items closed with the customers
told, and the settings an admin keeps (users, API keys, the calendar, webhook secrets)."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from retain import listening
from retain.bootstrap import App
from retain.config import Settings
from retain.domain.personalization import Brand
from retain.domain.surveys import answer
from retain.flows.reader import flow_to_dict, read_flow
from retain.ingest.reader import read_orders
from retain.mailer import save_brand
from retain.messaging.courier import Courier
from retain.runner import Engine, install_library, stored_flows
from retain.service import access, feedback
from retain.service.feedback import Incoming
from retain.service.imports import import_orders
from retain.store.tables import customers, messages
from retain.web.app import create_app
from retain.workspace import effective_settings
from tests.conftest import DATA
from tests.loyalty.conftest import Shop
from tests.messaging.conftest import Server, start_server
from tests.signin import member, sign_in

__all__ = ["start_server"]  # the real SMTP server's fixture

BRAND = Brand("Fernwood", "Fernwood", "hello@fernwood.example", "12 Mill Lane", "https://fernwood.example")
SECRET = SecretStr("a-secret-key-long-enough-to-sign")
OUTBOX_ONLY = Settings(secret_key=SECRET, smtp_url=None)
XSS = "<script>alert(1)</script>"


def enabled(app: App, name: str) -> bool:
    return stored_flows(app)[name][1]


def eml(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


# --- flows -------------------------------------------------------------------------------------


def test_a_marketer_turns_a_flow_on_and_off_and_others_cannot(app: App) -> None:
    install_library(app)
    marketer = member(app, "marketer")
    page = marketer.post("/flows/win-back/enable")
    assert page.status_code == 200  # followed back to the flow's page
    assert 'data-state="on"' in page.text
    assert enabled(app, "win-back")

    assert member(app, "viewer").post("/flows/win-back/disable").status_code == 403
    del marketer.headers["X-CSRF-Token"]
    assert marketer.post("/flows/win-back/disable").status_code == 403  # no CSRF token
    assert enabled(app, "win-back")

    marketer = member(app, "marketer")
    assert marketer.post("/flows/win-back/disable").status_code == 200
    assert not enabled(app, "win-back")
    assert marketer.post("/flows/no-such-flow/enable").status_code == 404


BAD_FLOW = """\
# Thank everyone, then offer a code.
name: thanks-and-offer
title: Thanks and an offer
trigger: {kind: event, event: order_placed}
steps:
  - {id: thanks, type: send, template: thank_you}
  - {id: offer, type: send, template: no_such_template}
holdout: 0.1
"""


def test_the_editor_shows_each_problem_beside_its_line_and_saves_a_good_document(app: App) -> None:
    marketer = member(app, "marketer")
    assert "name: my-flow" in marketer.get("/flows/new").text

    page = marketer.post("/flows/new", data={"document": BAD_FLOW, "intent": "save"})
    listing = re.search(r'<li id="line-7"[^>]*class="has-problem".*?</li>', page.text, re.S)
    assert listing is not None, "line 7 is not marked"
    assert "unknown template &#39;no_such_template&#39;" in listing.group(0)
    assert '<a href="#line-7" data-line="7">line 7</a>' in page.text
    assert "# Thank everyone, then offer a code." in page.text  # what the person typed, again
    assert "thanks-and-offer" not in stored_flows(app)

    good = BAD_FLOW.replace("no_such_template", "we_miss_you")
    checked = marketer.post("/flows/new", data={"document": good, "intent": "check"})
    assert "is valid (2 steps)" in checked.text
    assert "thanks-and-offer" not in stored_flows(app)
    saved = marketer.post("/flows/new", data={"document": good, "intent": "save"}, follow_redirects=False)
    assert saved.headers["location"] == "/flows/thanks-and-offer?done=saved"
    flow, on = stored_flows(app)["thanks-and-offer"]
    assert flow_to_dict(flow) == flow_to_dict(read_flow(good))
    assert not on

    editor = marketer.get("/flows/thanks-and-offer/edit")
    assert "# Thank everyone, then offer a code." in editor.text  # the text kept, comment and all
    renamed = marketer.post(
        "/flows/thanks-and-offer/edit",
        data={"document": good.replace("name: thanks-and-offer", "name: other")},
    )
    assert "this page edits the flow" in renamed.text
    assert "other" not in stored_flows(app)
    again = marketer.post("/flows/new", data={"document": good, "intent": "save"})
    assert "there is a flow &#39;thanks-and-offer&#39; already" in again.text
    assert member(app, "viewer").get("/flows/thanks-and-offer/edit").status_code == 403


def test_a_template_preview_renders_in_a_sandboxed_frame(sqlite_app: App) -> None:
    save_brand(sqlite_app, BRAND)
    Shop(sqlite_app).customer("ann@example.com")
    marketer = member(sqlite_app, "marketer")
    assert 'data-template="thank_you"' in marketer.get("/templates").text

    page = marketer.get("/templates/thank_you/preview", params={"customer": "ann@example.com"})
    assert page.status_code == 200
    assert re.search(r'data-figure="subject">[^<]*Ann', page.text, re.I)
    frame_tag = re.search(r"<iframe[^>]*>", page.text)
    assert frame_tag is not None
    assert 'sandbox=""' in frame_tag.group(0)
    src = re.search(r'src="([^"]+)"', frame_tag.group(0))
    assert src is not None
    frame = marketer.get(src.group(1).replace("&amp;", "&"))
    assert frame.status_code == 200
    assert "12 Mill Lane" in frame.text  # the store's footer
    policy = frame.headers["content-security-policy"]
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    assert frame.headers["x-frame-options"] == "SAMEORIGIN"

    viewer = member(sqlite_app, "viewer")
    assert viewer.get("/templates/thank_you/preview").status_code == 200  # the sample customer
    assert viewer.get("/templates/thank_you/preview?customer=ann@example.com").status_code == 403
    missing = marketer.get("/templates/thank_you/preview", params={"customer": "nobody@example.com"})
    assert missing.status_code == 422
    assert "no customer" in missing.text


# --- tickets and feedback ----------------------------------------------------------------------


def test_an_agent_assigns_replies_to_and_resolves_a_ticket(app: App, start_server: object) -> None:
    server: Server = start_server()  # type: ignore[operator]
    save_brand(app, BRAND)
    ann = Shop(app).customer("ann@example.com")
    opened = listening.receive(app, Incoming("complaint:1", "complaint", "The mug arrived broken", ann))
    ticket = opened.ticket_id
    assert ticket is not None
    smtp = Settings(secret_key=SECRET, smtp_url=SecretStr(f"smtp://{server.host}:{server.port}"))
    agent = member(app, "agent", smtp)

    inbox = agent.get("/inbox")
    row = inbox.text.split(f'data-ticket="{ticket}"')[1].split("</tr>")[0]
    assert "first response due in" in row

    page = agent.post(f"/inbox/{ticket}/assign", data={"agent": "Priya"})
    assert 'data-figure="assignee">Priya<' in page.text
    agent.post(f"/inbox/{ticket}/note", data={"body": "Check the courier's photos"})
    page = agent.post(f"/inbox/{ticket}/reply", data={"body": "A new mug is on its way today."})
    assert "Reply sent" in page.text
    (sent,) = server.handler.received
    assert sent.recipients == ["ann@example.com"]
    body = sent.parsed().get_body(("plain",))
    assert body is not None
    assert "A new mug is on its way today." in str(body.get_content())
    assert "Check the courier" not in sent.content.decode()  # notes stay inside

    page = agent.post(f"/inbox/{ticket}/resolve", data={"reason": "replaced", "note": "sent a new mug"})
    assert 'data-figure="status">resolved: replaced' in page.text
    with app.unit_of_work() as uow:
        found = uow.feedback.ticket(ticket)
        kinds = [note["kind"] for note in uow.feedback.notes(ticket)]
    assert found is not None
    assert (found["assignee"], found["status"]) == ("Priya", "resolved")
    assert found["first_response_at"] is not None
    assert kinds.count("reply") == 1
    assert kinds.count("note") == 1

    refused = agent.post(f"/inbox/{ticket}/resolve", data={"reason": "fixed"})
    assert refused.status_code == 422
    assert "resolved already" in refused.text
    assert member(app, "viewer").post(f"/inbox/{ticket}/reopen").status_code == 403
    assert 'data-figure="status">open' in agent.post(f"/inbox/{ticket}/reopen").text


def test_resolving_an_action_item_from_the_page_tells_the_customers(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the dashboard's outbox folder is relative to where it runs
    save_brand(app, BRAND)
    shop = Shop(app)
    people = [shop.customer(f"c{i}@example.com") for i in range(3)]
    for i, who in enumerate(people):
        listening.receive(
            app, Incoming(f"r:{i}", "review", "Delivery took three weeks", who, answer("review", 1))
        )
    (item,) = feedback.action_plan(app.unit_of_work, app.now(), "open")
    agent = member(app, "agent", OUTBOX_ONLY)
    assert f'data-item="{item.id}"' in agent.get("/feedback").text

    empty = agent.post(f"/feedback/actions/{item.id}/resolve", data={"note": " "})
    assert empty.status_code == 422
    assert "say what was done" in empty.text
    page = agent.post(f"/feedback/actions/{item.id}/resolve", data={"note": "We moved to a faster courier."})
    assert "customers who raised it were told" in page.text
    told = eml(tmp_path / "outbox")
    assert sorted(m["To"].addresses[0].addr_spec for m in told) == [f"c{i}@example.com" for i in range(3)]
    assert all("We moved to a faster courier." in str(m.get_body(("plain",)).get_content()) for m in told)  # type: ignore[union-attr]
    with app.unit_of_work() as uow:
        assert len(uow.feedback.notices(item.id)) == 3
    assert f'data-resolved="{item.id}"' in page.text
    assert (
        member(app, "viewer").post(f"/feedback/actions/{item.id}/resolve", data={"note": "x"}).status_code
        == 403
    )


def test_what_customers_write_is_shown_as_text_never_run(sqlite_app: App) -> None:
    ann = Shop(sqlite_app).customer("ann@example.com")
    opened = listening.receive(
        sqlite_app, Incoming("complaint:x", "complaint", f"{XSS} my parcel never came", ann, subject=XSS)
    )
    agent = member(sqlite_app, "agent")
    for path in ("/inbox", f"/inbox/{opened.ticket_id}", "/feedback"):
        page = agent.get(path)
        assert page.status_code == 200
        assert XSS not in page.text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path


# --- settings ----------------------------------------------------------------------------------


def test_an_admin_adds_a_user_whose_password_is_shown_once(app: App) -> None:
    admin = member(app, "admin")
    page = admin.post(
        "/settings/users", data={"email": "priya@example.com", "name": "Priya", "role": "agent"}
    )
    assert page.headers["cache-control"] == "no-store"
    found = re.search(r'data-secret="password">([^<]+)<', page.text)
    assert found is not None
    password = found.group(1)
    assert password not in admin.get("/settings").text  # once

    priya = TestClient(create_app(app))
    sign_in(priya, "priya@example.com", password)
    assert priya.get("/inbox").status_code == 200
    assert priya.get("/settings").status_code == 403  # an agent, not an admin

    taken = admin.post("/settings/users", data={"email": "priya@example.com", "name": "", "role": "viewer"})
    assert taken.status_code == 422
    assert "already a user" in taken.text
    with app.unit_of_work() as uow:
        priya_id = next(u.id for u in uow.access.users() if u.email == "priya@example.com")
    admin.post(f"/settings/users/{priya_id}/role", data={"role": "marketer"})
    admin.post(f"/settings/users/{priya_id}/disable")
    with app.unit_of_work() as uow:
        user = uow.access.user(priya_id)
    assert user is not None
    assert user.role == "marketer"
    assert user.disabled_at is not None
    assert priya.get("/inbox", follow_redirects=False).status_code == 303  # signed out at once


def test_an_api_key_works_until_it_is_revoked(app: App) -> None:
    admin = member(app, "admin")
    page = admin.post("/settings/keys", data={"name": "Shop feed", "scope": ["read", "ingest"]})
    found = re.search(r'data-secret="key">([^<]+)<', page.text)
    assert found is not None
    key = found.group(1)
    assert key not in admin.get("/settings").text
    integration = TestClient(create_app(app), headers={"Authorization": f"Bearer {key}"})
    assert integration.get("/flows").status_code == 200
    holder = access.key_holder(app.unit_of_work, key, app.now())
    assert holder is not None
    assert holder.scopes == ("read", "ingest")

    admin.post(f"/settings/keys/{holder.id}/revoke")
    assert access.key_holder(app.unit_of_work, key, app.now()) is None
    assert integration.get("/flows", follow_redirects=False).status_code in (303, 401)
    assert "revoked" in admin.get("/settings").text


def test_only_an_admin_reaches_the_settings(sqlite_app: App) -> None:
    marketer = member(sqlite_app, "marketer")
    assert marketer.get("/settings").status_code == 403
    refused = marketer.post("/settings/users", data={"email": "x@example.com", "role": "admin"})
    assert refused.status_code == 403
    assert marketer.post("/settings/keys", data={"name": "x", "scope": "read"}).status_code == 403
    with sqlite_app.unit_of_work() as uow:
        assert [u.email for u in uow.access.users()] == ["marketer@example.com"]
        assert uow.access.keys() == []


def test_the_brand_saved_on_the_page_is_the_one_messages_wear(sqlite_app: App) -> None:
    admin = member(sqlite_app, "admin")
    fields = {"store_name": "Fernwood", "sender_name": "Maya at Fernwood", "sender_address": "not an address",
              "postal_address": "12 Mill Lane", "shop_url": "https://fernwood.example", "logo_url": "",
              "accent_colour": "#1F6F5C"}  # fmt: skip
    refused = admin.post("/settings/brand", data=fields)
    assert refused.status_code == 422
    assert 'value="Maya at Fernwood"' in refused.text
    admin.post("/settings/brand", data=fields | {"sender_address": "maya@fernwood.example"})
    from retain.mailer import load_brand

    brand = load_brand(sqlite_app)
    assert (brand.sender_name, brand.sender_address, brand.logo_url) == (
        "Maya at Fernwood", "maya@fernwood.example", None
    )  # fmt: skip


def test_the_calendar_and_secrets_saved_on_the_page_are_the_effective_settings(app: App) -> None:
    admin = member(app, "admin")
    env = Settings(secret_key=SECRET)
    page = admin.post(
        "/settings/limits", data={"cap_messages": "5", "cap_days": "14", "quiet_hours": "22:00-07:30"}
    )
    assert page.status_code == 200
    found = effective_settings(app, env)
    assert (found.marketing_cap_messages, found.marketing_cap_days, found.quiet_hours) == (
        5,
        14,
        "22:00-07:30",
    )
    # What the environment sets explicitly wins over the page.
    assert effective_settings(app, Settings(marketing_cap_messages=3)).marketing_cap_messages == 3
    bad = admin.post("/settings/limits", data={"cap_messages": "5", "cap_days": "14", "quiet_hours": "late"})
    assert bad.status_code == 422
    assert effective_settings(app, env).quiet_hours == "22:00-07:30"

    secret = "s3cret-of-the-feedback-hook"
    page = admin.post("/settings/secrets/feedback_webhook_secret", data={"intent": "set", "secret": secret})
    assert secret not in page.text
    assert 'data-figure="feedback_webhook_secret"><strong>set<' in page.text
    kept = effective_settings(app, env).feedback_webhook_secret
    assert kept is not None
    assert kept.get_secret_value() == secret
    from_env = Settings(feedback_webhook_secret=SecretStr("the-environment-s-own-secret"))
    assert effective_settings(app, from_env).feedback_webhook_secret == from_env.feedback_webhook_secret
    made = admin.post("/settings/secrets/mail_webhook_secret", data={"intent": "generate"})
    shown = re.search(r'data-secret="webhook">([^<]+)<', made.text)
    mail = effective_settings(app, env).mail_webhook_secret
    assert shown is not None
    assert mail is not None
    assert mail.get_secret_value() == shown.group(1)
    admin.post("/settings/secrets/feedback_webhook_secret", data={"intent": "forget"})
    assert effective_settings(app, env).feedback_webhook_secret is None
    short = admin.post("/settings/secrets/feedback_webhook_secret", data={"intent": "set", "secret": "short"})
    assert short.status_code == 422


PROMO = """
name: promo-N
title: Promo
trigger: {kind: event, event: order_placed}
steps:
  - {id: offer, type: send, template: we_miss_you}
holdout: 0
"""


def test_the_flow_engine_keeps_the_calendar_saved_on_the_page(app: App, tmp_path: Path) -> None:
    import_orders(read_orders(DATA / "shopify" / "orders_export.csv"), app.unit_of_work())
    save_brand(app, BRAND)
    with app.engine.begin() as connection:  # Maria, who ordered twice, accepts marketing
        connection.execute(
            customers.update()
            .where(customers.c.email == "maria.garcia@example.com")
            .values(marketing_consent=True)
        )
    with app.unit_of_work() as uow:
        uow.flows.set_cursor("orders_seen", datetime(2025, 1, 1, tzinfo=UTC).isoformat())
        uow.commit()
    member(app, "admin").post(
        "/settings/limits", data={"cap_messages": "1", "cap_days": "7", "quiet_hours": ""}
    )
    promos = {f"promo-{n}": read_flow(PROMO.replace("promo-N", f"promo-{n}")) for n in (1, 2)}
    with app.unit_of_work() as uow:
        for name, one in promos.items():
            uow.flows.save(name, flow_to_dict(one), app.now(), enabled=True)
        uow.commit()
    with Courier(None, tmp_path / "outbox") as courier:
        engine = Engine(app, Settings(secret_key=SECRET, smtp_url=None), courier, flows=promos)
        engine.tick(datetime(2025, 3, 12, tzinfo=UTC))
    with app.engine.connect() as connection:
        maria = select(messages.c.status, messages.c.detail).where(
            messages.c.address == "maria.garcia@example.com"
        )
        outcome = sorted(connection.execute(maria).all())
    # The default calendar (2 in 7 days) would have let both through.
    assert [tuple(row) for row in outcome] == [
        ("sent", ""),
        ("skipped", "over the cap: 1 marketing messages in 7 days"),
    ]

    # Each flow's page draws the step: Maria's message sent by one, skipped by the calendar in the other.
    viewer = member(app, "viewer")
    stages = {}
    for name in promos:
        page = viewer.get(f"/flows/{name}")
        stages[name] = page.text.split('data-stage="1. offer"')[1].split("</li>")[0]
        assert 'data-stage="Entered"' in page.text
        assert "Not enough entrants yet" in page.text
    sent_by = [name for name, stage in stages.items() if 'data-figure="sent">1<' in stage]
    capped_by = [name for name, stage in stages.items() if 'data-figure="capped">1<' in stage]
    assert len(sent_by) == len(capped_by) == 1
    assert sent_by != capped_by
    # John, who ordered too, reached the step in both flows; he does not accept marketing.
    assert all('data-figure="reached">2<' in stage for stage in stages.values())
    assert all('data-figure="skipped">1<' in stage for stage in stages.values())
    assert viewer.get("/flows/no-such-flow").status_code == 404


# --- loyalty -----------------------------------------------------------------------------------


def test_a_marketer_corrects_points_and_the_page_shows_the_move(app: App) -> None:
    shop = Shop(app)
    ann = shop.customer("ann@example.com")
    marketer = member(app, "marketer")
    page = marketer.post(
        "/loyalty/adjust", data={"customer": "ann@example.com", "points": "250", "reason": "Lost parcel"}
    )
    assert page.status_code == 200
    assert 'data-figure="balance">250<' in page.text
    assert "Lost parcel (Marketer)" in page.text  # the latest moves, with who made it
    assert shop.account(ann)["balance"] == 250

    too_much = marketer.post(
        "/loyalty/adjust", data={"customer": str(ann), "points": "-400", "reason": "Oops"}
    )
    assert too_much.status_code == 422
    assert "the balance is 250 points" in too_much.text
    assert shop.account(ann)["balance"] == 250
    assert (
        member(app, "viewer").post("/loyalty/adjust", data={"customer": str(ann), "points": "1"}).status_code
        == 403
    )
