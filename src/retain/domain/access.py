"""Who may do what: the four roles of the team, the scopes of an integration's API key,
and the rules a login must pass.

A role is a bundle of permissions. Viewers read; agents also work the inbox and the
feedback; marketers also run flows, messages, segments, codes and loyalty; admins also
manage users, API keys and settings. An API key carries scopes instead of a role, so an
integration holds only what it needs (a store's order feed: ``ingest``).
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Role = Literal["admin", "marketer", "agent", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "marketer", "agent", "viewer")

# What a request needs. ``read`` is every GET of the dashboard and the API.
Permission = Literal["read", "support", "marketing", "ingest", "admin"]
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    "viewer": frozenset({"read"}),
    "agent": frozenset({"read", "support"}),
    "marketer": frozenset({"read", "support", "marketing"}),
    "admin": frozenset({"read", "support", "marketing", "ingest", "admin"}),
}
# An API key's scopes are the same words, minus ``admin``: no key manages users or keys.
SCOPES: tuple[Permission, ...] = ("read", "support", "marketing", "ingest")

MIN_PASSWORD = 12
MAX_PASSWORD = 1_024  # hashing a megabyte-long "password" is a denial of service
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AccessError(ValueError):
    """A user, password or key that cannot be accepted; the message says why."""


def allowed(role: Role, permission: Permission) -> bool:
    return permission in PERMISSIONS[role]


def check_role(role: str) -> Role:
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}: choose one of {', '.join(ROLES)}")
    return role


def check_scopes(scopes: list[str]) -> tuple[Permission, ...]:
    if not scopes:
        raise AccessError(f"give the key at least one scope: {', '.join(SCOPES)}")
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise AccessError(f"unknown scope {unknown[0]!r}: choose from {', '.join(SCOPES)}")
    return tuple(s for s in SCOPES if s in scopes)


def check_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise AccessError(f"{email!r} is not an e-mail address")
    return email


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccessError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccessError(f"a password may have at most {MAX_PASSWORD:,} characters")
    return password


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: Role
    created_at: datetime
    disabled_at: datetime | None = None

    def can(self, permission: Permission) -> bool:
        return self.disabled_at is None and allowed(self.role, permission)


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    prefix: str  # the part of the key shown in lists, to tell keys apart
    scopes: tuple[Permission, ...]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    def can(self, permission: Permission) -> bool:
        return self.revoked_at is None and permission in self.scopes


@dataclass
class Throttle:
    """At most ``limit`` failed logins per key (an address, an e-mail) in ``window``.

    A guesser is slowed to a handful of tries per quarter hour, per address and per
    account, while a person who mistypes twice is never stopped.
    """

    limit: int = 5
    window: timedelta = timedelta(minutes=15)
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def wait(self, keys: list[str], now: datetime) -> timedelta | None:
        """How long until another try is allowed, or None when it is allowed now."""
        longest: timedelta | None = None
        for key in keys:
            recent = self._recent(key, now)
            if len(recent) >= self.limit:
                left = recent[0] + self.window - now
                longest = left if longest is None else max(longest, left)
        return longest

    def failed(self, keys: list[str], now: datetime) -> None:
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(self._failures) > 100_000:  # forget the oldest keys rather than grow forever
            for stale in list(self._failures)[:50_000]:
                if stale != key:
                    del self._failures[stale]
        return times
