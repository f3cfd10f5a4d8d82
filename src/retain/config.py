"""Settings from the environment (``RETAIN_*``), overridable on the command line."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///retain.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RETAIN_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    # Whose calendar "a day" follows in metrics and cohorts.
    store_timezone: str = "UTC"
    # Share of revenue kept after cost of goods, for margin-adjusted CLV (e.g. 0.4); unset: none.
    gross_margin: float | None = Field(default=None, gt=0, le=1)


def database_url(override: str | None = None) -> str:
    """``--db`` wins over ``RETAIN_DATABASE_URL``; a bare path means a SQLite file."""
    url = override or Settings().database_url
    if "://" not in url:
        url = f"sqlite:///{url}"
    return url
