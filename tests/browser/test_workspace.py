"""The workspace in a real browser: what a store owner, a marketer and a support agent do,
and what a customer does with the links in their e-mails, at desktop and phone widths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from retain.mailer import signer
from retain.store.tables import customers, messages
from tests.browser.conftest import DESKTOP, PHONE, Live, PageErrors

Page = Any  # playwright's Page: the tests run where playwright is installed


def shoot(page: Page, shots: Path, name: str) -> None:
    """A screenshot at desktop and at phone width; on the phone nothing may stick out
    sideways, bar tables that scroll in their own box."""
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=shots / f"{name}-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=shots / f"{name}-phone.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{name} is {width}px wide on a 375px phone"
    page.set_viewport_size(DESKTOP)


def sign_in(page: Page, live: Live, path: str = "/") -> None:
    page.goto(f"{live.url}{path}")
    assert "/login" in page.url  # not signed in yet: sent to the form
    page.get_by_label("E-mail").fill(live.email)
    page.get_by_label("Password").fill(live.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.url}{path}")


def test_a_wrong_password_is_refused_then_the_owner_signs_in(
    context: Any, live: Live, shots: Path, page_errors: PageErrors
) -> None:
    page = context.new_page()
    page.goto(f"{live.url}/login")
    shoot(page, shots, "login")
    page_errors.allow("/login")  # the refused attempt answers 401
    page.get_by_label("E-mail").fill(live.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong e-mail or password."
    page.get_by_label("Password").fill(live.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live.url}/")
    assert page.get_by_role("button", name="Sign out").is_visible()


def test_the_overview_shows_the_store(context: Any, live: Live, shots: Path) -> None:
    page = context.new_page()
    sign_in(page, live)
    customers_shown = page.locator('[data-figure="customers"]').inner_text()
    assert customers_shown.replace(",", "") == "300"
    shoot(page, shots, "overview")
    # Keyboard: the first Tab reaches the skip link, which jumps to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_a_customer_unsubscribes_from_the_link_in_an_email(context: Any, live: Live, shots: Path) -> None:
    with live.app.engine.connect() as connection:
        sent = connection.execute(
            select(messages.c.customer_id, messages.c.key)
            .join(customers, customers.c.id == messages.c.customer_id)
            .where(messages.c.status == "sent", customers.c.marketing_consent.is_(True))
            .limit(1)
        ).one()
    url = signer(live.app, live.settings).url("unsubscribe", sent.customer_id, sent.key)
    page = context.new_page()
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Unsubscribe from our emails?"
    shoot(page, shots, "unsubscribe")
    page.get_by_label("Too many emails").check()
    page.get_by_role("button", name="Unsubscribe", exact=True).click()
    assert page.get_by_role("heading", level=1).inner_text() == "You are unsubscribed"
    shoot(page, shots, "unsubscribed")
    with live.app.engine.connect() as connection:
        consent = connection.scalar(
            select(customers.c.marketing_consent).where(customers.c.id == sent.customer_id)
        )
    assert not consent


def test_a_mail_client_unsubscribes_in_one_click(context: Any, live: Live) -> None:
    with live.app.engine.connect() as connection:
        sent = connection.execute(
            select(messages.c.customer_id, messages.c.key)
            .join(customers, customers.c.id == messages.c.customer_id)
            .where(messages.c.status == "sent", customers.c.marketing_consent.is_(True))
            .offset(1)
            .limit(1)
        ).one()
    url = signer(live.app, live.settings).url("unsubscribe", sent.customer_id, sent.key)
    answer = context.request.post(
        url, data="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status == 200
    with live.app.engine.connect() as connection:
        consent = connection.scalar(
            select(customers.c.marketing_consent).where(customers.c.id == sent.customer_id)
        )
    assert not consent


def test_the_owner_finds_a_customer_and_opens_their_360_view(context: Any, live: Live, shots: Path) -> None:
    with live.app.engine.connect() as connection:
        someone = connection.execute(
            select(customers.c.id, customers.c.email).where(customers.c.email.is_not(None)).limit(1)
        ).one()
    page = context.new_page()
    sign_in(page, live, "/customers")
    shoot(page, shots, "customers")
    page.get_by_label("Search by e-mail or name").fill(someone.email)
    page.get_by_role("button", name="Search").click()
    page.locator(f'a[href="/customers/{someone.id}"]').first.click()
    page.wait_for_url(f"{live.url}/customers/{someone.id}")
    assert page.get_by_role("heading", name="Timeline").is_visible()
    assert page.get_by_role("heading", name="Value and churn risk").is_visible()
    assert someone.email in page.content()
    shoot(page, shots, "customer-360")
    for section in ("/cohorts", "/segments", "/loyalty", "/feedback", "/team", "/settings"):
        page.goto(f"{live.url}{section}")
        assert page.get_by_role("heading", level=1).count() == 1
        shoot(page, shots, section.strip("/"))


def test_a_marketer_edits_a_flow_sees_the_problem_then_saves_it(
    context: Any, live: Live, shots: Path
) -> None:
    page = context.new_page()
    sign_in(page, live, "/flows")
    shoot(page, shots, "flows")
    page.goto(f"{live.url}/flows/new")
    editor = page.get_by_label("Flow document")
    editor.fill(
        "name: browser-thanks\ntrigger:\n  kind: event\n  event: order_placed\n"
        "steps:\n  - id: pause\n    type: wait\n    days: soon\n"
    )
    page.get_by_role("button", name="Check").click()
    problems = page.get_by_role("alert")
    assert "nothing was saved" in problems.inner_text()
    assert "line 8" in problems.inner_text()  # the bad duration, on its own line
    shoot(page, shots, "flow-editor-problem")
    editor = page.get_by_label("Flow document")
    assert "days: soon" in editor.input_value()  # what was typed is kept
    editor.fill(
        "name: browser-thanks\ntitle: Thanks from the browser\n"
        "trigger:\n  kind: event\n  event: order_placed\n"
        "steps:\n  - id: pause\n    type: wait\n    days: 2\n"
        "  - id: thanks\n    type: send\n    template: thank_you\n"
    )
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{live.url}/flows/browser-thanks**")
    with live.app.unit_of_work() as uow:
        assert "browser-thanks" in uow.flows.definitions()
    shoot(page, shots, "flow")


def test_a_template_preview_renders_in_a_sandbox(context: Any, live: Live, shots: Path) -> None:
    page = context.new_page()
    sign_in(page, live, "/templates")
    page.locator('a[href="/templates/thank_you/preview"]').first.click()
    page.wait_for_url(f"{live.url}/templates/thank_you/preview")
    assert page.locator('[data-figure="subject"]').inner_text().strip()
    frame = page.locator("iframe.preview")
    assert frame.get_attribute("sandbox") == ""
    body = page.frame_locator("iframe.preview").locator("body")
    assert body.inner_text().strip()  # the message itself, not an error page
    shoot(page, shots, "template-preview")


def test_an_agent_resolves_a_ticket_from_the_inbox(context: Any, live: Live, shots: Path) -> None:
    with live.app.unit_of_work() as uow:
        waiting = [t for t in uow.feedback.tickets() if t["status"] != "resolved"]
    assert waiting, "the demo leaves tickets waiting"
    ticket = waiting[0]["id"]
    page = context.new_page()
    sign_in(page, live, "/inbox")
    shoot(page, shots, "inbox")
    page.locator(f'tr[data-ticket="{ticket}"] th a').click()
    page.wait_for_url(f"{live.url}/inbox/{ticket}")
    shoot(page, shots, "ticket")
    page.get_by_label("Resolve: the reason").select_option(index=0)
    page.get_by_label("What was done (for the record)").fill("Sent a replacement")
    page.get_by_role("button", name="Resolve").click()
    page.wait_for_load_state()
    with live.app.unit_of_work() as uow:
        resolved = uow.feedback.ticket(ticket)
    assert resolved is not None
    assert resolved["status"] == "resolved"
    assert resolved["resolution_note"] == "Sent a replacement"
