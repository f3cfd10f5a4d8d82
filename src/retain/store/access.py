"""Users, their sessions and the integrations' API keys in the database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from retain.domain.access import ApiKey, Permission, Role, User
from retain.store.tables import api_keys, sessions, users


def _user(row: Any) -> User:
    return User(row.id, row.email, row.name, row.role, row.created_at, row.disabled_at)


def _key(row: Any) -> ApiKey:
    scopes: tuple[Permission, ...] = tuple(row.scopes)
    return ApiKey(row.id, row.name, row.prefix, scopes, row.created_at, row.revoked_at, row.last_used_at)


class SqlAccess:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    # --- users ---
    def add_user(self, email: str, name: str, role: Role, password_hash: str, now: datetime) -> User:
        values = {
            "email": email,
            "name": name,
            "role": role,
            "password_hash": password_hash,
            "created_at": now,
        }
        new_id = self.connection.execute(insert(users).values(values).returning(users.c.id)).scalar_one()
        return User(new_id, email, name, role, now)

    def user(self, user_id: int) -> User | None:
        row = self.connection.execute(select(users).where(users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def credentials(self, email: str) -> tuple[User, str] | None:
        """The user with this e-mail and their password hash."""
        row = self.connection.execute(select(users).where(users.c.email == email)).first()
        return None if row is None else (_user(row), row.password_hash)

    def users(self) -> list[User]:
        return [_user(row) for row in self.connection.execute(select(users).order_by(users.c.email))]

    def admins(self) -> int:
        """How many enabled admins there are."""
        query = select(users.c.id).where(users.c.role == "admin", users.c.disabled_at.is_(None))
        return len(self.connection.execute(query).all())

    def update_user(self, user_id: int, **values: Any) -> bool:
        done = self.connection.execute(update(users).where(users.c.id == user_id).values(**values))
        return done.rowcount == 1

    # --- sessions ---
    def add_session(self, token_hash: str, user_id: int, csrf: str, now: datetime, expires: datetime) -> None:
        self.connection.execute(
            insert(sessions).values(
                token_hash=token_hash, user_id=user_id, csrf=csrf, created_at=now, expires_at=expires
            )
        )

    def session(self, token_hash: str) -> tuple[User, str, datetime] | None:
        """The session's user, its CSRF token and when it expires."""
        query = (
            select(users, sessions.c.csrf, sessions.c.expires_at)
            .join(sessions, sessions.c.user_id == users.c.id)
            .where(sessions.c.token_hash == token_hash)
        )
        row = self.connection.execute(query).first()
        return None if row is None else (_user(row), row.csrf, row.expires_at)

    def end_session(self, token_hash: str) -> None:
        self.connection.execute(delete(sessions).where(sessions.c.token_hash == token_hash))

    def end_sessions(self, user_id: int) -> None:
        self.connection.execute(delete(sessions).where(sessions.c.user_id == user_id))

    def drop_expired(self, now: datetime) -> None:
        self.connection.execute(delete(sessions).where(sessions.c.expires_at <= now))

    # --- API keys ---
    def add_key(
        self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...], now: datetime
    ) -> ApiKey:
        values = {
            "name": name,
            "prefix": prefix,
            "key_hash": key_hash,
            "scopes": list(scopes),
            "created_at": now,
        }
        new_id = self.connection.execute(
            insert(api_keys).values(values).returning(api_keys.c.id)
        ).scalar_one()
        return ApiKey(new_id, name, prefix, scopes, now)  # type: ignore[arg-type]

    def key(self, prefix: str) -> tuple[ApiKey, str] | None:
        """The key with this prefix and its hash."""
        row = self.connection.execute(select(api_keys).where(api_keys.c.prefix == prefix)).first()
        return None if row is None else (_key(row), row.key_hash)

    def keys(self) -> list[ApiKey]:
        return [_key(row) for row in self.connection.execute(select(api_keys).order_by(api_keys.c.id))]

    def revoke_key(self, key_id: int, now: datetime) -> bool:
        done = self.connection.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return done.rowcount == 1

    def key_used(self, key_id: int, now: datetime) -> None:
        self.connection.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))
