"""``retain users`` and ``retain keys``: the team who sign in to the dashboard, and the API
keys of the store's integrations.

There are no default credentials: the first admin is made here (or by the demo, which
prints a random password once).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from retain.bootstrap import App
from retain.cli.feedback import JsonOption, moment, print_json
from retain.cli.ui import DbOption, console, fail, on_store
from retain.domain.access import ROLES, SCOPES, AccessError
from retain.service import access

users_app = typer.Typer(short_help="The team who sign in to the dashboard: create, list, change.")
keys_app = typer.Typer(short_help="API keys for integrations: create (shown once), list, revoke.")

RoleOption = Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")]


def _on_store(db: str | None, work: Callable[[App], None]) -> None:
    """Run ``work``; a refusal (a taken e-mail, a short password, the last admin) is one
    line and exit status 2, with nothing written."""
    try:
        on_store(db, work, ())
    except AccessError as exc:
        fail(escape(str(exc)))


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password given on standard input, or a random one (then shown once)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return access.random_password(), True


@users_app.command("create")
def create(
    email: Annotated[str, typer.Argument(help="Their e-mail, which they sign in with.")],
    role: RoleOption = "viewer",
    name: Annotated[str, typer.Option(help="How the dashboard names them. Default: from the e-mail.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Add a team member. Without --password-stdin a random password is made and printed
    this once; nobody can read it back later."""
    password, generated = _password(password_stdin)

    def work(app: App) -> None:
        user = access.create_user(app.unit_of_work, email, name, role, password, app.now())
        console.print(f"Created {escape(user.email)} ({user.role}).", highlight=False)
        if generated:
            console.print(f"Password (shown once): [bold]{password}[/]", highlight=False)

    _on_store(db, work)


@users_app.command("list")
def list_users(json_output: JsonOption = False, db: DbOption = None) -> None:
    """Every user with their role and whether they are disabled."""

    def work(app: App) -> None:
        with app.unit_of_work() as uow:
            found = uow.access.users()
        if json_output:
            print_json([asdict(u) for u in found])
            return
        table = Table("id", "e-mail", "name", "role", "since", "disabled")
        for u in found:
            table.add_row(
                str(u.id),
                escape(u.email),
                escape(u.name),
                u.role,
                moment(u.created_at),
                moment(u.disabled_at),
            )
        console.print(table)

    _on_store(db, work)


def _user_id(app: App, email: str) -> int:
    with app.unit_of_work() as uow:
        found = uow.access.credentials(email.strip().lower())
    if found is None:
        raise AccessError(f"no user {email}")
    return found[0].id


@users_app.command("role")
def set_role(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")], role: RoleOption, db: DbOption = None
) -> None:
    """Give a user another role."""

    def work(app: App) -> None:
        user = access.change_user(app.unit_of_work, _user_id(app, email), app.now(), role=role)
        console.print(f"{escape(user.email)} is now {user.role}.", highlight=False)

    _on_store(db, work)


def _set_disabled(db: str | None, email: str, disabled: bool) -> None:
    def work(app: App) -> None:
        access.change_user(app.unit_of_work, _user_id(app, email), app.now(), disabled=disabled)
        console.print(f"{escape(email)} is {'disabled' if disabled else 'enabled'}.", highlight=False)

    _on_store(db, work)


@users_app.command("disable")
def disable(email: Annotated[str, typer.Argument(help="The user's e-mail.")], db: DbOption = None) -> None:
    """Stop a user signing in; their open sessions end at once."""
    _set_disabled(db, email, True)


@users_app.command("enable")
def enable(email: Annotated[str, typer.Argument(help="The user's e-mail.")], db: DbOption = None) -> None:
    """Let a disabled user sign in again."""
    _set_disabled(db, email, False)


@users_app.command("password")
def password(
    email: Annotated[str, typer.Argument(help="The user's e-mail.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Set a new password (random and shown once, unless read from standard input); the
    user's sessions end."""
    new, generated = _password(password_stdin)

    def work(app: App) -> None:
        access.set_password(app.unit_of_work, email, new)
        console.print(f"New password for {escape(email)} set.", highlight=False)
        if generated:
            console.print(f"Password (shown once): [bold]{new}[/]", highlight=False)

    _on_store(db, work)


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Argument(help="The integration it is for, e.g. 'shopify-sync'.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help=f"Repeatable. One of: {', '.join(SCOPES)}. Default: read."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Make an API key. It is printed this once: store it in the integration's secrets."""

    def work(app: App) -> None:
        key, secret = access.create_key(app.unit_of_work, name, scope or ["read"], app.now())
        console.print(f"API key {key.id} '{escape(key.name)}' ({', '.join(key.scopes)}).", highlight=False)
        console.print(f"Key (shown once): [bold]{secret}[/]", highlight=False, soft_wrap=True)

    _on_store(db, work)


@keys_app.command("list")
def list_keys(json_output: JsonOption = False, db: DbOption = None) -> None:
    """Every key: its name, prefix, scopes, last use, and whether it is revoked."""

    def work(app: App) -> None:
        with app.unit_of_work() as uow:
            found = uow.access.keys()
        if json_output:
            print_json([asdict(k) for k in found])
            return
        table = Table("id", "name", "prefix", "scopes", "created", "last used", "revoked")
        for k in found:
            table.add_row(
                str(k.id), escape(k.name), f"rk_{k.prefix}_…", ", ".join(k.scopes),
                moment(k.created_at), moment(k.last_used_at), moment(k.revoked_at),
            )  # fmt: skip
        console.print(table)

    _on_store(db, work)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (retain keys list).")], db: DbOption = None
) -> None:
    """Revoke a key: requests with it are refused from now on."""

    def work(app: App) -> None:
        access.revoke_key(app.unit_of_work, key_id, app.now())
        console.print(f"API key {key_id} revoked.", highlight=False)

    _on_store(db, work)
