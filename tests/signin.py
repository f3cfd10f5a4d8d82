"""A test client signed in to the dashboard as a user of the given role."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from retain.bootstrap import App
from retain.config import Settings
from retain.service import access
from retain.web.app import create_app

PASSWORD = "correct horse battery staple"
HIDDEN = re.compile(r'name="csrf" value="([^"]+)"')


def hidden_csrf(html: str) -> str:
    found = HIDDEN.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form; CSRF-protected posts then carry the session's token."""
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={"email": email, "password": password, "csrf": hidden_csrf(form.text), "next": "/team"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    client.headers["X-CSRF-Token"] = hidden_csrf(client.get("/team").text)


def member(app: App, role: str = "admin", settings: Settings | None = None, **options: object) -> TestClient:
    """A client signed in as a new ``role`` user (e-mail ``<role>@example.com``)."""
    email = f"{role}@example.com"
    if not any(u.email == email for u in _users(app)):
        access.create_user(app.unit_of_work, email, role.title(), role, PASSWORD, datetime.now(UTC))
    client = TestClient(create_app(app, settings), **options)  # type: ignore[arg-type]
    sign_in(client, email)
    return client


def _users(app: App) -> list[access.User]:
    with app.unit_of_work() as uow:
        return uow.access.users()
