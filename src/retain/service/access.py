"""Access, the use cases: team members and their passwords, signed-in sessions, and the
API keys of integrations.

Passwords are hashed with argon2id. A session is a random token in an HttpOnly cookie,
kept in the database only as its SHA-256, with a CSRF token of its own; signing out or
disabling a user ends it at once. An API key is ``rk_<prefix>_<secret>``: the prefix finds
it, the SHA-256 of the whole key proves it, and it is shown once, when made.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from retain.domain.access import (
    AccessError,
    ApiKey,
    Permission,
    Role,
    Throttle,
    User,
    check_email,
    check_password,
    check_role,
    check_scopes,
)

SESSION_LIFETIME = timedelta(days=7)
KEY_PREFIX = "rk_"
HASHER = PasswordHasher()
# Checked against when the e-mail is unknown, so a wrong address takes as long as a
# wrong password and the timing tells nobody which addresses have accounts.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))


class AccessStore(Protocol):
    def add_user(self, email: str, name: str, role: Role, password_hash: str, now: datetime) -> User: ...

    def user(self, user_id: int) -> User | None: ...

    def credentials(self, email: str) -> tuple[User, str] | None: ...

    def users(self) -> list[User]: ...

    def admins(self) -> int: ...

    def update_user(self, user_id: int, **values: Any) -> bool: ...

    def add_session(
        self, token_hash: str, user_id: int, csrf: str, now: datetime, expires: datetime
    ) -> None: ...

    def session(self, token_hash: str) -> tuple[User, str, datetime] | None: ...

    def end_session(self, token_hash: str) -> None: ...

    def end_sessions(self, user_id: int) -> None: ...

    def drop_expired(self, now: datetime) -> None: ...

    def add_key(
        self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...], now: datetime
    ) -> ApiKey: ...

    def key(self, prefix: str) -> tuple[ApiKey, str] | None: ...

    def keys(self) -> list[ApiKey]: ...

    def revoke_key(self, key_id: int, now: datetime) -> bool: ...

    def key_used(self, key_id: int, now: datetime) -> None: ...


class AccessSession(Protocol):
    @property
    def access(self) -> AccessStore: ...

    def commit(self) -> None: ...

    def __enter__(self) -> AccessSession: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


Session = Callable[[], AccessSession]


class LoginRefused(AccessError):
    """Wrong e-mail or password, or a disabled user: the message never says which."""


class TooManyAttempts(AccessError):
    def __init__(self, wait: timedelta) -> None:
        self.wait = wait
        minutes = max(1, round(wait.total_seconds() / 60))
        super().__init__(f"too many failed sign-ins: try again in {minutes} minute{'s' * (minutes != 1)}")


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str  # goes in the cookie, never stored
    csrf: str
    expires_at: datetime


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def random_password() -> str:
    """A password for someone to change later: 20 characters, about 120 bits."""
    return secrets.token_urlsafe(15)


def create_user(session: Session, email: str, name: str, role: str, password: str, now: datetime) -> User:
    email, role_, password = check_email(email), check_role(role), check_password(password)
    with session() as uow:
        if uow.access.credentials(email) is not None:
            raise AccessError(f"there is already a user {email}")
        user = uow.access.add_user(
            email, name.strip() or email.split("@")[0], role_, HASHER.hash(password), now
        )
        uow.commit()
    return user


def set_password(session: Session, email: str, password: str) -> None:
    """A new password ends every session the user had."""
    password = check_password(password)
    with session() as uow:
        found = uow.access.credentials(check_email(email))
        if found is None:
            raise AccessError(f"no user {email}")
        uow.access.update_user(found[0].id, password_hash=HASHER.hash(password))
        uow.access.end_sessions(found[0].id)
        uow.commit()


def change_user(
    session: Session, user_id: int, now: datetime, *, role: str | None = None, disabled: bool | None = None
) -> User:
    """Change a user's role or disable them; the last enabled admin stays an admin."""
    with session() as uow:
        user = uow.access.user(user_id)
        if user is None:
            raise AccessError(f"no user {user_id}")
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = check_role(role)
        if disabled is not None:
            values["disabled_at"] = now if disabled else None
        losing_admin = (
            user.role == "admin"
            and user.disabled_at is None
            and (values.get("role", "admin") != "admin" or values.get("disabled_at") is not None)
        )
        if losing_admin and uow.access.admins() <= 1:
            raise AccessError("keep at least one admin: make another user admin first")
        if values:
            uow.access.update_user(user_id, **values)
        if values.get("disabled_at") is not None:
            uow.access.end_sessions(user_id)
        changed = uow.access.user(user_id)
        uow.commit()
    assert changed is not None
    return changed


def sign_in(
    session: Session, email: str, password: str, now: datetime, throttle: Throttle, address: str
) -> SignedIn:
    """Check the password and open a session; failures are counted per address and per
    e-mail, and too many are refused before the password is even looked at."""
    email = email.strip().lower()
    keys = [f"ip:{address}", f"email:{email}"]
    wait = throttle.wait(keys, now)
    if wait is not None:
        raise TooManyAttempts(wait)
    with session() as uow:
        found = uow.access.credentials(email) if len(password) <= 1_024 else None
        stored = found[1] if found else _DUMMY_HASH
        try:
            good = HASHER.verify(stored, password) and found is not None
        except (VerificationError, InvalidHashError):
            good = False
        if not good or found is None or found[0].disabled_at is not None:
            throttle.failed(keys, now)
            raise LoginRefused("wrong e-mail or password")
        user = found[0]
        if HASHER.check_needs_rehash(stored):
            uow.access.update_user(user.id, password_hash=HASHER.hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        uow.access.drop_expired(now)
        uow.access.add_session(_sha256(token), user.id, csrf, now, now + SESSION_LIFETIME)
        uow.commit()
    throttle.succeeded(keys)
    return SignedIn(user, token, csrf, now + SESSION_LIFETIME)


def signed_in(session: Session, token: str, now: datetime) -> tuple[User, str] | None:
    """The user of a session cookie and the session's CSRF token, if it is still good."""
    if not token or len(token) > 128:
        return None
    with session() as uow:
        found = uow.access.session(_sha256(token))
    if found is None:
        return None
    user, csrf, expires = found
    if expires <= now or user.disabled_at is not None:
        return None
    return user, csrf


def sign_out(session: Session, token: str) -> None:
    with session() as uow:
        uow.access.end_session(_sha256(token))
        uow.commit()


def create_key(session: Session, name: str, scopes: list[str], now: datetime) -> tuple[ApiKey, str]:
    """A new key and its secret, which is shown this once and never again."""
    name = name.strip()
    if not name or len(name) > 120:
        raise AccessError("name the key after its integration (1 to 120 characters)")
    checked = check_scopes(scopes)
    prefix = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with session() as uow:
        key = uow.access.add_key(name, prefix, _sha256(secret), checked, now)
        uow.commit()
    return key, secret


def revoke_key(session: Session, key_id: int, now: datetime) -> None:
    with session() as uow:
        if not uow.access.revoke_key(key_id, now):
            raise AccessError(f"no active API key {key_id}")
        uow.commit()


def key_holder(session: Session, secret: str, now: datetime) -> ApiKey | None:
    """The key a request presented, if it is real and not revoked."""
    if not secret.startswith(KEY_PREFIX) or len(secret) > 128:
        return None
    prefix = secret[len(KEY_PREFIX) :].split("_", 1)[0]
    with session() as uow:
        found = uow.access.key(prefix)
        if found is None:
            return None
        key, stored = found
        if not hmac.compare_digest(stored, _sha256(secret)) or key.revoked_at is not None:
            return None
        if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
            uow.access.key_used(key.id, now)  # a write a minute at most, not one per request
            uow.commit()
    return key


def permits(holder: User | ApiKey, permission: Permission) -> bool:
    return holder.can(permission)
