"""The loyalty program as the store keeps it, and the loyalty use cases wired to the store.

The program is kept as the text of its file in the settings (comments included), so what
a person loads is what they see again; a store without one runs the program Retain ships,
in the currency of most of its orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from retain.bootstrap import App
from retain.domain.discounts import grouped
from retain.domain.loyalty import Program
from retain.domain.money import display_money
from retain.domain.personalization import PointsView
from retain.loyalty.program import default_program, default_text, read_program
from retain.service import loyalty
from retain.service.ports import Progress, no_progress
from retain.store.queries import store_currency

PROGRAM_KEY = "loyalty_program"


def program_text(app: App) -> tuple[str, str]:
    """The program's text and where it came from (a file name, or ``default.yaml``)."""
    with app.unit_of_work() as uow:
        stored = uow.settings.get(PROGRAM_KEY)
    if isinstance(stored, dict) and isinstance(stored.get("text"), str):
        return stored["text"], str(stored.get("source") or "program")
    return default_text(store_currency(app.engine)), "default.yaml"


def load_program(app: App) -> Program:
    text, source = program_text(app)
    if source == "default.yaml":
        return default_program(store_currency(app.engine))
    return read_program(text, source)


def save_program(app: App, path: Path) -> Program:
    """Check the program in ``path`` and keep it; raises ``ProgramError`` and keeps nothing
    when it has a problem."""
    text = path.read_text(encoding="utf-8")
    program = read_program(text, path.name)
    with app.unit_of_work() as uow:
        uow.settings.put(PROGRAM_KEY, {"text": text, "source": path.name}, app.now())
        uow.commit()
    return program


def sync(app: App, now: datetime | None = None, progress: Progress = no_progress) -> loyalty.SyncReport:
    """Run the program over the store: earn, reverse, approve, tiers, bonuses, expiry."""
    return loyalty.sync(load_program(app), app.unit_of_work, now or app.now(), progress)


def uses_points(template_body: str) -> bool:
    """Whether a template shows points or the member's referral link, so they must be read."""
    return "points" in template_body or "links.referral" in template_body


class StorePoints:
    """Each customer's points as a message shows them: balance, tier and what they buy."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.program = load_program(app)

    def __call__(self, customer_ids: Sequence[int]) -> dict[int, PointsView]:
        with self.app.unit_of_work() as uow:
            accounts = uow.loyalty.accounts(customer_ids)
        return {account["customer_id"]: self._view(account) for account in accounts}

    def _view(self, account: dict[str, Any]) -> PointsView:
        balance = account["balance"]
        worth = display_money(self.program.worth(balance), self.program.currency) if balance else None
        return PointsView(balance, account["tier"], worth, grouped(account["referral_code"]))
