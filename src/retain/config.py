"""Settings from the environment (``RETAIN_*``), overridable on the command line."""

from __future__ import annotations

from datetime import time

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from retain.domain.messages import Mailbox

DEFAULT_DATABASE_URL = "sqlite:///retain.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETAIN_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Whose calendar "a day" follows in metrics and cohorts.
    store_timezone: str = "UTC"
    # Share of revenue kept after cost of goods, for margin-adjusted CLV (e.g. 0.4); unset: none.
    gross_margin: float | None = Field(default=None, gt=0, le=1)
    # Where e-mail goes (smtp://user:pass@host:587?starttls=true, smtps://...); unset: the
    # file outbox. Secret, so the password never shows in a repr, a log or a traceback.
    smtp_url: SecretStr | None = None
    # The sender of every e-mail, written "Coffee & Co <shop@example.com>" or as a bare address.
    mail_from: Mailbox | None = None
    # Where recipients reach Retain's pages (unsubscribe, preferences, click and open
    # tracking). It must be https for the one-click List-Unsubscribe header.
    public_url: str = "http://127.0.0.1:8000"
    # Signs the links in messages; unset: a key made once and kept in the database.
    secret_key: SecretStr | None = None
    # Shared secret of the bounce and complaint webhook (POST /webhooks/mail); unset: refused.
    mail_webhook_secret: SecretStr | None = None
    # Shared secret of the feedback webhook (POST /api/v1/feedback: reviews and answers from
    # other platforms); unset: refused.
    feedback_webhook_secret: SecretStr | None = None
    # Shared secret of Shopify's webhooks (POST /webhooks/shopify: orders, refunds,
    # customers), as Shopify shows it; unset: refused.
    shopify_webhook_secret: SecretStr | None = None
    # Shared secret of the generic signed order and customer webhooks (POST /webhooks/orders
    # and /webhooks/customers, for other platforms); unset: refused.
    orders_webhook_secret: SecretStr | None = None
    # Days after an open or a click in which an order counts as the message's doing.
    attribution_days: int = Field(default=5, ge=1, le=90)
    # The communication calendar: at most this many marketing messages per customer in
    # this many days, across flows and campaigns.
    marketing_cap_messages: int = Field(default=2, ge=1)
    marketing_cap_days: int = Field(default=7, ge=1)
    # Flow messages due in these local hours wait for their end ("21:00-08:00"); "" for none.
    quiet_hours: str = "21:00-08:00"

    @field_validator("quiet_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        if value.strip():
            start, sep, end = value.partition("-")
            if not sep:
                raise ValueError("quiet hours look like 21:00-08:00")
            time.fromisoformat(start.strip())
            time.fromisoformat(end.strip())
        return value.replace(" ", "")

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _blank_url_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("mail_from", mode="before")
    @classmethod
    def _parse_sender(cls, value: object) -> object:
        if isinstance(value, str):
            return Mailbox.parse(value) if value.strip() else None
        return value


def database_url(override: str | None = None) -> str:
    """``--db`` wins over ``RETAIN_DATABASE_URL``; a bare path means a SQLite file."""
    url = override or Settings().database_url
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url
