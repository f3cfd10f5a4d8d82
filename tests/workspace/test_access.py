"""Who may sign in and what they may do: passwords, sessions, CSRF, throttling, API keys."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from retain.bootstrap import App
from retain.cli import app as cli_app
from retain.config import Settings
from retain.domain.access import PERMISSIONS, ROLES, AccessError, Throttle, allowed
from retain.service import access
from retain.web.app import create_app
from retain.web.auth import LOGIN_COOKIE, SESSION_COOKIE, safe_next
from tests.signin import PASSWORD, hidden_csrf, member, sign_in

NOW = datetime(2026, 3, 1, 9, tzinfo=UTC)


def login(client: TestClient, email: str, password: str) -> int:
    form = client.get("/login")
    data = {"email": email, "password": password, "csrf": hidden_csrf(form.text), "next": "/team"}
    return client.post("/login", data=data, follow_redirects=False).status_code


def test_roles_widen_from_viewer_to_admin() -> None:
    order = ["viewer", "agent", "marketer", "admin"]
    for lower, higher in itertools.pairwise(order):
        assert PERMISSIONS[lower] < PERMISSIONS[higher]  # type: ignore[index]
    assert not allowed("marketer", "admin")
    assert not allowed("agent", "marketing")
    assert allowed("agent", "support")
    assert set(ROLES) == set(order)


def test_passwords_are_hashed_and_checked(app: App) -> None:
    user = access.create_user(app.unit_of_work, " Ann@Example.com ", "Ann", "agent", PASSWORD, NOW)
    assert user.email == "ann@example.com"
    with app.unit_of_work() as uow:
        found = uow.access.credentials("ann@example.com")
    assert found is not None
    stored = found[1]
    assert PASSWORD not in stored
    assert stored.startswith("$argon2id$")
    signed = access.sign_in(app.unit_of_work, "ANN@example.com", PASSWORD, NOW, Throttle(), "1.2.3.4")
    assert signed.user.id == user.id
    assert access.signed_in(app.unit_of_work, signed.token, NOW) == (signed.user, signed.csrf)
    assert access.signed_in(app.unit_of_work, signed.token, NOW + access.SESSION_LIFETIME) is None
    with pytest.raises(access.LoginRefused):
        access.sign_in(app.unit_of_work, "ann@example.com", PASSWORD + "x", NOW, Throttle(), "1.2.3.4")


@pytest.mark.parametrize(
    ("email", "role", "password", "problem"),
    [
        ("not-an-address", "viewer", PASSWORD, "not an e-mail address"),
        ("a@example.com", "owner", PASSWORD, "unknown role"),
        ("a@example.com", "viewer", "short", "at least 12 characters"),
    ],
)
def test_bad_users_are_refused_with_the_reason(
    sqlite_app: App, email: str, role: str, password: str, problem: str
) -> None:
    with pytest.raises(AccessError, match=problem):
        access.create_user(sqlite_app.unit_of_work, email, "", role, password, NOW)
    with sqlite_app.unit_of_work() as uow:
        assert uow.access.users() == []


def test_an_email_has_one_account_and_the_last_admin_stays(sqlite_app: App) -> None:
    boss = access.create_user(sqlite_app.unit_of_work, "boss@example.com", "", "admin", PASSWORD, NOW)
    with pytest.raises(AccessError, match="already a user"):
        access.create_user(sqlite_app.unit_of_work, "BOSS@example.com", "", "viewer", PASSWORD, NOW)
    with pytest.raises(AccessError, match="at least one admin"):
        access.change_user(sqlite_app.unit_of_work, boss.id, NOW, role="viewer")
    with pytest.raises(AccessError, match="at least one admin"):
        access.change_user(sqlite_app.unit_of_work, boss.id, NOW, disabled=True)
    other = access.create_user(sqlite_app.unit_of_work, "two@example.com", "", "admin", PASSWORD, NOW)
    assert access.change_user(sqlite_app.unit_of_work, boss.id, NOW, role="viewer").role == "viewer"
    assert other.role == "admin"


def test_signing_in_sets_a_guarded_session_cookie(sqlite_app: App) -> None:
    access.create_user(sqlite_app.unit_of_work, "ann@example.com", "Ann", "viewer", PASSWORD, NOW)
    client = TestClient(create_app(sqlite_app))
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"
    form = client.get("/login")
    answer = client.post(
        "/login",
        data={
            "email": "ann@example.com",
            "password": PASSWORD,
            "csrf": hidden_csrf(form.text),
            "next": "/team",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/team"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http on a laptop
    assert client.get("/").status_code == 200
    # Sign out ends the session in the database, not only in this browser.
    token = client.cookies[SESSION_COOKIE]
    page = client.get("/team")
    assert (
        client.post("/logout", data={"csrf": hidden_csrf(page.text)}, follow_redirects=False).status_code
        == 303
    )
    assert access.signed_in(sqlite_app.unit_of_work, token, datetime.now(UTC)) is None


def test_behind_https_the_cookie_is_secure(sqlite_app: App) -> None:
    access.create_user(sqlite_app.unit_of_work, "ann@example.com", "Ann", "viewer", PASSWORD, NOW)
    client = TestClient(create_app(sqlite_app, Settings(public_url="https://retain.example")))
    form = client.get("/login")
    login_cookie = form.headers["set-cookie"]
    assert login_cookie.startswith(LOGIN_COOKIE)
    assert "Secure" in login_cookie
    client.cookies.set(LOGIN_COOKIE, client.cookies[LOGIN_COOKIE])
    answer = client.post(
        "/login",
        data={"email": "ann@example.com", "password": PASSWORD, "csrf": hidden_csrf(form.text)},
        follow_redirects=False,
    )
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "Secure" in cookie


def test_the_login_form_refuses_a_post_from_another_site(sqlite_app: App) -> None:
    access.create_user(sqlite_app.unit_of_work, "ann@example.com", "Ann", "viewer", PASSWORD, NOW)
    client = TestClient(create_app(sqlite_app))
    forged = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "csrf": "guess"})
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_wrong_passwords_are_throttled_per_account(sqlite_app: App) -> None:
    access.create_user(sqlite_app.unit_of_work, "ann@example.com", "Ann", "viewer", PASSWORD, NOW)
    client = TestClient(create_app(sqlite_app))
    assert [login(client, "ann@example.com", "wrong password!") for _ in range(5)] == [401] * 5
    stopped = client.get("/login")
    refused = client.post(
        "/login",
        data={"email": "ann@example.com", "password": PASSWORD, "csrf": hidden_csrf(stopped.text)},
        follow_redirects=False,
    )
    assert refused.status_code == 429  # even the right password waits now
    assert int(refused.headers["retry-after"]) > 0
    assert "try again in 15 minutes" in refused.text
    assert SESSION_COOKIE not in client.cookies


def test_the_throttle_forgets_after_its_window() -> None:
    throttle = Throttle(limit=2, window=timedelta(minutes=10))
    keys = ["ip:1.2.3.4"]
    throttle.failed(keys, NOW)
    throttle.failed(keys, NOW + timedelta(minutes=1))
    assert throttle.wait(keys, NOW + timedelta(minutes=2)) == timedelta(minutes=8)
    assert throttle.wait(["ip:5.6.7.8"], NOW) is None
    assert throttle.wait(keys, NOW + timedelta(minutes=10, seconds=1)) is None


def test_forms_without_the_session_csrf_token_are_refused(sqlite_app: App) -> None:
    client = member(sqlite_app, "agent")
    del client.headers["X-CSRF-Token"]
    refused = client.post("/team/kudos", data={"agent": "Priya", "message": "Thanks"})
    assert refused.status_code == 403
    assert "expired or came from another site" in refused.text
    page = client.get("/team")
    accepted = client.post(
        "/team/kudos", data={"agent": "Priya", "message": "Thanks", "csrf": hidden_csrf(page.text)}
    )
    assert accepted.status_code == 200
    with sqlite_app.unit_of_work() as uow:
        assert [k["giver"] for k in uow.feedback.kudos()] == ["Agent"]  # the signed-in user, not a form field


def test_a_disabled_user_is_signed_out_at_once(sqlite_app: App) -> None:
    access.create_user(sqlite_app.unit_of_work, "boss@example.com", "", "admin", PASSWORD, NOW)
    client = member(sqlite_app, "viewer")
    assert client.get("/").status_code == 200
    with sqlite_app.unit_of_work() as uow:
        viewer = next(u for u in uow.access.users() if u.role == "viewer")
    access.change_user(sqlite_app.unit_of_work, viewer.id, NOW, disabled=True)
    assert client.get("/", follow_redirects=False).status_code == 303
    assert login(TestClient(create_app(sqlite_app)), "viewer@example.com", PASSWORD) == 401


def test_next_only_leads_to_this_site() -> None:
    assert safe_next("/customers/4?x=1") == "/customers/4?x=1"
    for outside in ["//evil.example", "https://evil.example", "/\\evil.example", "", None]:
        assert safe_next(outside) == "/"


def test_api_keys_are_shown_once_stored_hashed_scoped_and_revocable(app: App) -> None:
    key, secret = access.create_key(app.unit_of_work, "shopify-sync", ["ingest", "read"], NOW)
    assert secret.startswith(f"rk_{key.prefix}_")
    assert key.scopes == ("read", "ingest")
    with app.unit_of_work() as uow:
        stored = uow.access.key(key.prefix)
    assert stored is not None
    assert secret not in stored[1]
    assert len(stored[1]) == 64
    holder = access.key_holder(app.unit_of_work, secret, NOW)
    assert holder is not None
    assert holder.can("ingest")
    assert not holder.can("marketing")
    assert access.key_holder(app.unit_of_work, secret[:-1] + "x", NOW) is None
    assert access.key_holder(app.unit_of_work, "rk_nothere_x", NOW) is None
    access.revoke_key(app.unit_of_work, key.id, NOW)
    assert access.key_holder(app.unit_of_work, secret, NOW) is None
    with pytest.raises(AccessError, match="no active API key"):
        access.revoke_key(app.unit_of_work, key.id, NOW)
    with pytest.raises(AccessError, match="unknown scope 'admin'"):
        access.create_key(app.unit_of_work, "too-much", ["admin"], NOW)


def test_a_read_key_reads_pages_and_posts_need_no_csrf(sqlite_app: App) -> None:
    _, secret = access.create_key(sqlite_app.unit_of_work, "reader", ["read"], NOW)
    client = TestClient(create_app(sqlite_app), headers={"Authorization": f"Bearer {secret}"})
    assert client.get("/team").status_code == 200  # a read key reads
    # No browser sends a key by itself, so a post with one needs no CSRF token.
    given = client.post("/team/kudos", data={"agent": "Priya", "message": "Thanks"})
    assert given.status_code == 200
    with sqlite_app.unit_of_work() as uow:
        assert [k["giver"] for k in uow.feedback.kudos()] == ["key:reader"]
    # Without the key, the same post is a stranger's.
    stranger = TestClient(create_app(sqlite_app)).post("/team/kudos", data={"agent": "Priya", "message": "x"})
    assert stranger.status_code == 200
    assert "/login" in str(stranger.url)


def test_users_and_keys_from_the_command_line(sqlite_url: str) -> None:
    cli = CliRunner()
    made = cli.invoke(
        cli_app, ["users", "create", "Lee@Example.com", "--role", "marketer", "--db", sqlite_url]
    )
    assert made.exit_code == 0, made.output
    password = made.output.split("Password (shown once): ")[1].split()[0]
    assert len(password) >= 20
    taken = cli.invoke(cli_app, ["users", "create", "lee@example.com", "--db", sqlite_url])
    assert taken.exit_code == 2
    assert "already a user" in taken.output
    typed = cli.invoke(
        cli_app,
        ["users", "create", "kim@example.com", "--password-stdin", "--db", sqlite_url],
        input="a typed passphrase\n",
    )
    assert typed.exit_code == 0
    assert "shown once" not in typed.output
    listed = cli.invoke(cli_app, ["users", "list", "--json", "--db", sqlite_url])
    assert '"email": "lee@example.com"' in listed.output
    assert '"role": "marketer"' in listed.output
    assert password not in listed.output

    key = cli.invoke(cli_app, ["keys", "create", "woo", "--scope", "ingest", "--db", sqlite_url])
    assert key.exit_code == 0, key.output
    secret = key.output.split("Key (shown once): ")[1].split()[0]
    listing = cli.invoke(cli_app, ["keys", "list", "--db", sqlite_url])
    assert secret not in listing.output
    assert "woo" in listing.output
    bad = cli.invoke(cli_app, ["keys", "create", "x", "--scope", "everything", "--db", sqlite_url])
    assert bad.exit_code == 2
    assert "unknown scope" in bad.output
    assert cli.invoke(cli_app, ["keys", "revoke", "1", "--db", sqlite_url]).exit_code == 0
    assert cli.invoke(cli_app, ["keys", "revoke", "1", "--db", sqlite_url]).exit_code == 2


def test_sign_in_works_with_a_password_set_from_the_command_line(sqlite_app: App, sqlite_url: str) -> None:
    cli = CliRunner()
    cli.invoke(cli_app, ["users", "create", "ann@example.com", "--role", "agent", "--db", sqlite_url])
    changed = cli.invoke(
        cli_app,
        ["users", "password", "ann@example.com", "--password-stdin", "--db", sqlite_url],
        input=PASSWORD,
    )
    assert changed.exit_code == 0, changed.output
    client = TestClient(create_app(sqlite_app))
    sign_in(client, "ann@example.com")
    assert client.get("/team").status_code == 200


def test_disabling_and_enabling_from_the_command_line(sqlite_app: App, sqlite_url: str) -> None:
    access.create_user(sqlite_app.unit_of_work, "boss@example.com", "", "admin", PASSWORD, NOW)
    access.create_user(sqlite_app.unit_of_work, "ann@example.com", "Ann", "agent", PASSWORD, NOW)
    cli = CliRunner()
    assert cli.invoke(cli_app, ["users", "disable", "ann@example.com", "--db", sqlite_url]).exit_code == 0
    assert login(TestClient(create_app(sqlite_app)), "ann@example.com", PASSWORD) == 401
    assert cli.invoke(cli_app, ["users", "enable", "ann@example.com", "--db", sqlite_url]).exit_code == 0
    assert login(TestClient(create_app(sqlite_app)), "ann@example.com", PASSWORD) == 303
    last = cli.invoke(cli_app, ["users", "disable", "boss@example.com", "--db", sqlite_url])
    assert last.exit_code == 2
    assert "at least one admin" in last.output
    nobody = cli.invoke(cli_app, ["users", "disable", "who@example.com", "--db", sqlite_url])
    assert nobody.exit_code == 2
    assert "no user who@example.com" in nobody.output
