"""The settings an admin changes on the dashboard's settings page, laid over the environment's.

The communication calendar (how many marketing messages, in how many days), the quiet hours
and the webhooks' shared secrets may be set in the environment (``RETAIN_*``) or on the
settings page, which keeps them in the store's settings table. A value the environment sets
explicitly wins, so an operator's configuration is never overruled from a browser; the
page shows which values come from where. ``effective_settings`` is what the flow engine and
the webhooks read.

The webhook secrets are kept as they are, not hashed: verifying a signature needs the
secret itself. The page never shows one back, only whether it is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr, ValidationError

from retain.bootstrap import App
from retain.config import Settings

KEY = "workspace_settings"
LIMITS = ("marketing_cap_messages", "marketing_cap_days", "quiet_hours")
# Each webhook's secret; a name the running version's Settings lacks is left alone.
SECRETS = {
    "shopify_webhook_secret": "Shopify webhooks (POST /webhooks/shopify)",
    "orders_webhook_secret": "Generic signed order webhooks",
    "feedback_webhook_secret": "Feedback from other platforms (POST /api/v1/feedback)",
    "mail_webhook_secret": "Bounces and complaints (POST /webhooks/mail)",
}
MIN_SECRET, MAX_SECRET = 16, 256
MAX_CAP_MESSAGES, MAX_CAP_DAYS = 100, 365

Source = Literal["environment", "workspace", "default"]


class WorkspaceError(ValueError):
    """A setting that cannot be kept; the message says why."""


def stored(app: App) -> dict[str, Any]:
    """What the settings page saved: the limits by name, and ``secrets`` by name."""
    with app.unit_of_work() as uow:
        found = uow.settings.get(KEY)
    return found if isinstance(found, dict) else {}


def _secrets(saved: dict[str, Any]) -> dict[str, Any]:
    found = saved.get("secrets")
    return dict(found) if isinstance(found, dict) else {}


def _known(name: str) -> bool:
    return name in Settings.model_fields


def webhook_secrets() -> dict[str, str]:
    """The webhooks whose secret the settings page may set: name and what it signs."""
    return {name: what for name, what in SECRETS.items() if _known(name)}


def _from_environment(settings: Settings, name: str) -> bool:
    if name in SECRETS:
        value = getattr(settings, name, None)
        return isinstance(value, SecretStr) and bool(value.get_secret_value())
    return name in settings.model_fields_set


def effective_settings(app: App, settings: Settings) -> Settings:
    """``settings`` with what the settings page saved in place of every value the
    environment left unset."""
    saved = stored(app)
    update: dict[str, Any] = {
        name: saved[name] for name in LIMITS if name in saved and not _from_environment(settings, name)
    }
    for name, value in _secrets(saved).items():
        usable = name in SECRETS and _known(name) and isinstance(value, str) and value
        if usable and not _from_environment(settings, name):
            update[name] = SecretStr(value)
    return settings.model_copy(update=update) if update else settings


@dataclass(frozen=True)
class Shown:
    """One setting as the page shows it: its value (never a secret's) and where it is from."""

    name: str
    value: str
    source: Source


def shown(app: App, settings: Settings) -> dict[str, Shown]:
    saved = stored(app)
    secrets = _secrets(saved)
    effective = effective_settings(app, settings)
    found: dict[str, Shown] = {}
    for name in LIMITS:
        source: Source = "workspace" if name in saved else "default"
        if _from_environment(settings, name):
            source = "environment"
        found[name] = Shown(name, str(getattr(effective, name)), source)
    for name in SECRETS:
        if not _known(name):
            continue
        if _from_environment(settings, name):
            found[name] = Shown(name, "set", "environment")
        elif secrets.get(name):
            found[name] = Shown(name, "set", "workspace")
        else:
            found[name] = Shown(name, "not set", "default")
    return found


def save_limits(app: App, cap_messages: int, cap_days: int, quiet_hours: str) -> None:
    """Keep the communication calendar and the quiet hours ("21:00-08:00", or "" for none)."""
    if not 1 <= cap_messages <= MAX_CAP_MESSAGES:
        raise WorkspaceError(f"at most 1 to {MAX_CAP_MESSAGES} marketing messages")
    if not 1 <= cap_days <= MAX_CAP_DAYS:
        raise WorkspaceError(f"the calendar spans 1 to {MAX_CAP_DAYS} days")
    try:
        checked = Settings.model_validate({"quiet_hours": quiet_hours}).quiet_hours
    except ValidationError:
        raise WorkspaceError(
            f"quiet hours look like 21:00-08:00 (or leave them empty), not {quiet_hours!r}"
        ) from None
    limits = {"marketing_cap_messages": cap_messages, "marketing_cap_days": cap_days, "quiet_hours": checked}
    _put(app, limits)


def save_secret(app: App, name: str, value: str | None) -> None:
    """Keep a webhook's secret, or forget it (``None``)."""
    if name not in SECRETS or not _known(name):
        raise WorkspaceError(f"no webhook secret {name!r}")
    if value is not None:
        value = value.strip()
        if not MIN_SECRET <= len(value) <= MAX_SECRET or not value.isprintable():
            raise WorkspaceError(f"a secret has {MIN_SECRET} to {MAX_SECRET} printable characters")
    secrets = _secrets(stored(app))
    if value is None:
        secrets.pop(name, None)
    else:
        secrets[name] = value
    _put(app, {"secrets": secrets})


def _put(app: App, changes: dict[str, Any]) -> None:
    with app.unit_of_work() as uow:
        current = uow.settings.get(KEY)
        merged = {**(current if isinstance(current, dict) else {}), **changes}
        uow.settings.put(KEY, merged, app.now())
        uow.commit()
