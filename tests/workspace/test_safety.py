"""What protects every page and endpoint: body size caps, security headers, and logs that
carry nobody's personal data."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from retain.bootstrap import App
from retain.web.app import create_app
from retain.web.guard import MAX_BODY
from tests.signin import member


def test_an_oversized_body_is_refused_before_it_is_read(sqlite_app: App) -> None:
    client = member(sqlite_app, "agent")
    big = b"message=" + b"x" * (MAX_BODY + 1)
    answer = client.post(
        "/team/kudos", content=big, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    with sqlite_app.unit_of_work() as uow:
        assert uow.feedback.kudos() == []


def test_a_body_without_a_length_is_counted_as_it_arrives(sqlite_app: App) -> None:
    client = member(sqlite_app, "agent")

    def chunks() -> Iterator[bytes]:
        yield b"agent=Priya&message="
        for _ in range(MAX_BODY // 65_536 + 2):
            yield b"x" * 65_536

    answer = client.post(
        "/team/kudos", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert answer.status_code == 413
    with sqlite_app.unit_of_work() as uow:
        assert uow.feedback.kudos() == []


def test_a_lying_length_header_is_refused(sqlite_app: App) -> None:
    answer = TestClient(create_app(sqlite_app)).post("/login", headers={"Content-Length": "-5"}, content=b"")
    assert answer.status_code == 413


def test_pages_tell_the_browser_to_run_only_our_own_code(sqlite_app: App) -> None:
    page = TestClient(create_app(sqlite_app)).get("/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_signing_in_and_failing_to_logs_no_personal_data(
    sqlite_app: App, every_log: pytest.LogCaptureFixture
) -> None:
    client = TestClient(create_app(sqlite_app))
    form = client.get("/login").text
    csrf = form.split('name="csrf" value="')[1].split('"')[0]
    client.post(
        "/login", data={"email": "secret.person@example.com", "password": "hunter2-hunter2", "csrf": csrf}
    )
    member(sqlite_app, "viewer").get("/customers?q=secret.person@example.com")
    # The test's own HTTP client logs its requests; everything else is the server's.
    server = [r for r in every_log.records if not r.name.startswith("httpx")]
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in server)
    assert "secret.person" not in logged
    assert "hunter2" not in logged
