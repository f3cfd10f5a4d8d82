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
