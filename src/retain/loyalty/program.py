"""Read the loyalty program from YAML (or JSON), with errors that name the line.

Amounts in the file are in the program's currency (``value: 5`` is five dollars) and become
minor units here; tier thresholds are amounts for the ``spend`` basis and points for the
``points`` basis. ``read_program`` collects every problem and raises one
``ProgramError`` listing them, sorted by line. ``program_to_dict`` writes a program back as
data that reads to an equal program, for storing it in the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retain.documents import DocumentError, Where, format_path, line_of, parse, split_path
from retain.domain.loyalty import (
    LoyaltyError,
    Members,
    Program,
    Referrals,
    Reward,
    RewardKind,
    Tier,
    TierBasis,
)
from retain.domain.money import exponent, to_decimal


class ProgramError(LoyaltyError):
    """A program file that cannot be used: ``problems`` holds (message, path, line)."""

    def __init__(self, problems: Sequence[tuple[str, str, int | None]], source: str = "") -> None:
        self.problems = sorted(problems, key=lambda problem: problem[2] or 0)
        lines = []
        for message, path, line in self.problems:
            where = ":".join(part for part in (source, str(line) if line else "") if part)
            located = f"{path}: {message}" if path else message
            lines.append(f"{where}: {located}" if where else located)
        super().__init__("\n".join(lines))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class _Expiry(_Model):
    months: int | None = Field(12, ge=1, le=120)
    reminder_days: int = Field(30, ge=0, le=365)


class _Exclusions(_Model):
    skus: list[str] = []
    categories: list[str] = []


class _Level(_Model):
    name: str = Field(min_length=1, max_length=32)
    threshold: Decimal = Field(ge=0)
    multiplier: Decimal = Decimal(1)
    entry_reward: int = Field(0, ge=0)
    free_shipping_quarterly: bool = False
    early_access: list[str] = []


class _Tiers(_Model):
    basis: Literal["spend", "points"] = "spend"
    grace_days: int = Field(30, ge=0, le=365)
    levels: list[_Level] = []


class _Reward(_Model):
    key: str
    title: str = Field(min_length=1, max_length=120)
    points: int
    kind: Literal["fixed", "percent", "free_shipping", "credit"]
    value: Decimal = Decimal(0)
    minimum_order: Decimal = Decimal(0)
    valid_days: int | None = 90


class _Welcome(_Model):
    kind: Literal["fixed", "percent", "free_shipping"]
    value: Decimal = Decimal(0)
    minimum_order: Decimal = Decimal(0)
    valid_days: int | None = 60


class _Referrals(_Model):
    referrer_points: int = Field(500, ge=0)
    monthly_cap: int = Field(5, ge=0)
    code_valid_days: int = Field(365, ge=1)
    welcome: _Welcome | None = None


class _Program(_Model):
    currency: str
    points_per_unit: Decimal = Decimal(1)
    point_value: Decimal = Decimal("0.01")
    starts: date | None = None
    members: Literal["everyone", "marketing_consent"] = "everyone"
    return_window_days: int = Field(30, ge=0, le=365)
    expiry: _Expiry = _Expiry()
    bonuses: dict[str, int] = {}
    exclusions: _Exclusions = _Exclusions()
    tiers: _Tiers = _Tiers()
    rewards: list[_Reward] = []
    referrals: _Referrals | None = None
    notify_min_points: int = Field(100, ge=0)

    @field_validator("bonuses")
    @classmethod
    def _bonuses(cls, value: dict[str, int]) -> dict[str, int]:
        for name, points in value.items():
            if points < 0:
                raise ValueError(f"{name}: points must not be negative")
        return value


def _shape_problems(error: ValidationError) -> list[tuple[Where, str]]:
    found: list[tuple[Where, str]] = []
    for item in error.errors(include_url=False):
        path: Where = tuple(item["loc"])
        kind, value = item["type"], item.get("input")
        if kind == "missing":
            message = "required but missing"
        elif kind == "extra_forbidden":
            message = f"unknown key {path[-1]!r}"
        elif kind == "literal_error":
            message = f"unknown value {value!r}; expected {(item.get('ctx') or {}).get('expected')}"
        elif kind == "value_error":
            message = str((item.get("ctx") or {}).get("error", item["msg"]))
        else:
            text = item["msg"]
            message = f"{text[:1].lower()}{text[1:]}, not {value!r}"
        found.append((path, message))
    return found


def _minor(amount: Decimal, currency: str, path: Where, found: list[tuple[Where, str]]) -> int:
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        found.append((path, f"{amount} has more decimals than {currency} allows"))
        return 0
    return int(scaled)


def read_program(text: str, source: str = "") -> Program:
    """The program in ``text``; ``source`` names the file in errors. Raises ``ProgramError``."""
    try:
        root, data = parse(text)
    except DocumentError as error:
        raise ProgramError([(message, "", line) for message, line in error.problems], source) from None
    if root is None or not isinstance(data, dict):
        raise ProgramError(
            [("a program is a mapping of keys such as currency, tiers and rewards", "", 1)], source
        )

    def fail(found: list[tuple[Where, str]]) -> ProgramError:
        problems = [(message, format_path(path), line_of(root, path)) for path, message in found]
        return ProgramError(problems, source)

    try:
        model = _Program.model_validate(data)
    except ValidationError as error:
        raise fail(_shape_problems(error)) from None
    found: list[tuple[Where, str]] = []
    currency = model.currency.upper()
    try:
        exponent(currency)
    except (KeyError, ValueError):
        raise fail([(("currency",), f"{model.currency!r} is not an ISO 4217 code")]) from None

    def reward(item: _Reward | _Welcome, path: Where, key: str, title: str, points: int) -> Reward:
        kind: RewardKind = item.kind
        value = item.value
        if kind in ("fixed", "credit"):
            minor = _minor(value, currency, (*path, "value"), found)
        elif value != value.to_integral_value():
            found.append(((*path, "value"), f"{value} is not a whole number"))
            minor = 0
        else:
            minor = int(value)
        return Reward(
            key=key, title=title, points=points, kind=kind, value=minor,
            minimum_order=_minor(item.minimum_order, currency, (*path, "minimum_order"), found),
            valid_days=item.valid_days,
        )  # fmt: skip

    tiers = tuple(
        Tier(
            name=level.name,
            threshold=(
                _minor(level.threshold, currency, ("tiers", "levels", i, "threshold"), found)
                if model.tiers.basis == "spend"
                else int(level.threshold)
            ),
            multiplier=level.multiplier,
            entry_reward=level.entry_reward,
            free_shipping_quarterly=level.free_shipping_quarterly,
            early_access=tuple(level.early_access),
        )
        for i, level in enumerate(model.tiers.levels)
    )
    rewards = tuple(
        reward(item, ("rewards", i), item.key, item.title, item.points)
        for i, item in enumerate(model.rewards)
    )
    referrals = None
    if model.referrals is not None:
        welcome = model.referrals.welcome
        referrals = Referrals(
            referrer_points=model.referrals.referrer_points,
            welcome=reward(welcome, ("referrals", "welcome"), "welcome", "Welcome", 0) if welcome else None,
            monthly_cap=model.referrals.monthly_cap,
            code_valid_days=model.referrals.code_valid_days,
        )
    tier_basis: TierBasis = model.tiers.basis
    members: Members = model.members
    program = Program(
        currency=currency,
        points_per_unit=model.points_per_unit,
        point_value=model.point_value,
        starts=model.starts,
        members=members,
        return_window_days=model.return_window_days,
        expiry_months=model.expiry.months,
        reminder_days=model.expiry.reminder_days,
        bonuses=dict(model.bonuses),
        excluded_skus=frozenset(model.exclusions.skus),
        excluded_categories=frozenset(model.exclusions.categories),
        tier_basis=tier_basis,
        tiers=tiers,
        grace_days=model.tiers.grace_days,
        rewards=rewards,
        referrals=referrals,
        notify_min_points=model.notify_min_points,
    )
    for path, message in program.problems():
        where = split_path(path)
        if where[:1] == ("tiers",) and len(where) > 1:  # tiers live under tiers.levels in the file
            where = ("tiers", "levels", *where[1:])
        found.append((where, message))
    if found:
        raise fail(found)
    return program


def load_program(path: Path) -> Program:
    return read_program(path.read_text(encoding="utf-8"), path.name)


def _amount(minor: int, currency: str) -> str:
    return str(to_decimal(minor, currency))


def program_to_dict(program: Program) -> dict[str, Any]:
    """Plain data that ``read_program`` turns back into an equal program."""
    money = program.currency

    def reward(item: Reward, with_points: bool) -> dict[str, Any]:
        value = _amount(item.value, money) if item.kind in ("fixed", "credit") else item.value
        data: dict[str, Any] = (
            {"key": item.key, "title": item.title, "points": item.points} if with_points else {}
        )
        return data | {
            "kind": item.kind, "value": value,
            "minimum_order": _amount(item.minimum_order, money), "valid_days": item.valid_days,
        }  # fmt: skip

    data: dict[str, Any] = {
        "currency": money,
        "points_per_unit": str(program.points_per_unit),
        "point_value": str(program.point_value),
        "members": program.members,
        "return_window_days": program.return_window_days,
        "expiry": {"months": program.expiry_months, "reminder_days": program.reminder_days},
        "bonuses": dict(program.bonuses),
        "exclusions": {
            "skus": sorted(program.excluded_skus),
            "categories": sorted(program.excluded_categories),
        },
        "tiers": {
            "basis": program.tier_basis,
            "grace_days": program.grace_days,
            "levels": [
                {
                    "name": tier.name,
                    "threshold": (
                        _amount(tier.threshold, money) if program.tier_basis == "spend" else tier.threshold
                    ),
                    "multiplier": str(tier.multiplier),
                    "entry_reward": tier.entry_reward,
                    "free_shipping_quarterly": tier.free_shipping_quarterly,
                    "early_access": list(tier.early_access),
                }
                for tier in program.tiers
            ],
        },
        "rewards": [reward(item, True) for item in program.rewards],
        "notify_min_points": program.notify_min_points,
    }
    if program.starts is not None:
        data["starts"] = program.starts.isoformat()
    if program.referrals is not None:
        refs = program.referrals
        data["referrals"] = {
            "referrer_points": refs.referrer_points,
            "monthly_cap": refs.monthly_cap,
            "code_valid_days": refs.code_valid_days,
        } | ({"welcome": reward(refs.welcome, False)} if refs.welcome else {})
    return data


@cache
def _shipped() -> str:
    return resources.files(__package__).joinpath("default.yaml").read_text(encoding="utf-8")


def default_text(currency: str | None = None) -> str:
    """The text of the program Retain ships, its amounts read in ``currency`` when given."""
    text = _shipped()
    if currency is not None:
        text = text.replace("currency: USD", f"currency: {currency.upper()}", 1)
    return text


def default_program(currency: str | None = None) -> Program:
    """The program Retain ships; amounts are read in ``currency`` when given."""
    return read_program(default_text(currency), "default.yaml")
