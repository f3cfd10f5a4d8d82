"""Read lifecycle flows from YAML or JSON, with errors that name the line.

``read_flow`` parses the text (JSON is YAML, so one reader serves both), checks its shape,
builds the ``retain.domain.flows.Flow`` and runs every further check: ``Flow.problems()``,
the entry and branch rules, offers, and (when ``templates`` is given) template names.

All problems are collected: a flow that cannot be read raises one ``FlowReadError`` (a
``FlowError``) whose ``problems`` holds each problem with its path and line, sorted by line;
its message lists them all, one per line, and its own ``path`` and ``line`` are the first's.
Only shape problems stop the reader before the later checks run.

``flow_to_dict`` turns a flow into plain JSON-able data that reads back to an equal flow.
``library`` holds the flows Retain ships, from the ``library`` folder next to this module.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Mapping
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from retain.documents import DocumentError, Where, format_path, line_of, parse, split_path
from retain.domain.conditions import FieldKind, RuleError, compile_rule
from retain.domain.flows import (
    AwardPoints,
    Branch,
    Cap,
    CreateTask,
    DateField,
    DateTrigger,
    EventName,
    EventTrigger,
    Exit,
    Flow,
    FlowError,
    IssueCode,
    Offer,
    ScheduleTrigger,
    ScoreName,
    ScoreTrigger,
    SegmentTrigger,
    Send,
    Step,
    Trigger,
    Wait,
    WaitForEvent,
)
from retain.domain.segments import CUSTOMER_FIELDS

# Fields of the order that triggered the run, for rules such as "a high-value first order".
ORDER_FIELDS: dict[str, FieldKind] = {
    "order_total": "number",
    "first_order": "boolean",
    "order_items": "number",
}
RULE_FIELDS: dict[str, FieldKind] = CUSTOMER_FIELDS | ORDER_FIELDS


_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_STEP_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$")
_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?$")


class FlowReadError(FlowError):
    """A flow that cannot be read: ``problems`` lists each problem, sorted by line."""

    def __init__(self, problems: list[FlowError]) -> None:
        first, rest = problems[0], problems[1:]
        message = first.message + "".join(f"\n{problem}" for problem in rest)
        super().__init__(message, first.path, first.line, first.source)
        self.problems = tuple(problems)


# --- YAML --------------------------------------------------------------------------------


def _parse(text: str, source: str) -> tuple[yaml.Node, Any]:
    """The composed node tree (for lines) and the data."""
    try:
        node, data = parse(text)
    except DocumentError as error:
        problems = [FlowError(message, "", line, source) for message, line in error.problems]
        raise FlowReadError(problems) from None
    if node is None:
        raise FlowReadError([FlowError("the file is empty; a flow is a mapping", "", 1, source)])
    return node, data


# --- Shape ---------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _EventTrigger(_Model):
    kind: Literal["event"]
    event: EventName


class _SegmentTrigger(_Model):
    kind: Literal["segment"]
    segment: str = Field(min_length=1)
    change: Literal["entered", "left"] = "entered"


class _DateTrigger(_Model):
    kind: Literal["date"]
    date: DateField
    offset_days: int = 0


class _ScoreTrigger(_Model):
    kind: Literal["score"]
    score: ScoreName
    above: float | None = None
    below: float | None = None


class _ScheduleTrigger(_Model):
    kind: Literal["schedule"]
    at: datetime
    segment: str | None = Field(default=None, min_length=1)

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: object) -> datetime:
        example = "e.g. 2026-12-01T10:00:00+00:00"
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} is not an ISO date and time ({example})") from None
        else:
            raise ValueError(f"write the time as ISO text with a time zone ({example}), not {value!r}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone; add one ({example})")
        return moment


class _Offer(_Model):
    kind: Literal["percent", "fixed", "free_shipping"]
    value: Any = None  # checked per kind when the offer is built
    valid_days: int = Field(default=14, ge=1)
    minimum_order: Any = None


class _Cap(_Model):
    messages: int = Field(ge=1)
    days: int = Field(ge=1)


class _Step(_Model):
    id: str

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _STEP_ID.match(value):
            raise ValueError(f"step id {value!r} must be letters, digits, '_' or '-' (at most 63)")
        return value


class _Wait(_Step):
    type: Literal["wait"]
    days: float = Field(default=0, ge=0)
    until: time | None = None

    @field_validator("until", mode="before")
    @classmethod
    def _until(cls, value: object) -> time | None:
        if value is None:
            return None
        match = _CLOCK.match(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f'{value!r} is not a time of day; write it as text such as "10:00"')
        hour, minute, second = match.groups()
        return time(int(hour), int(minute), int(second or 0))


class _Send(_Step):
    type: Literal["send"]
    template: str = Field(min_length=1)
    offer: _Offer | None = None
    channel: Literal["email"] = "email"


class _IssueCode(_Step):
    type: Literal["code"]
    offer: _Offer


class _AwardPoints(_Step):
    type: Literal["points"]
    points: int = Field(ge=1)
    reason: str = ""


class _CreateTask(_Step):
    type: Literal["task"]
    title: str = Field(min_length=1)
    role: Literal["admin", "marketer", "agent"] = "agent"
    due_hours: int = Field(default=48, ge=1)


class _Branch(_Step):
    type: Literal["branch"]
    condition: dict[str, Any]
    then: str
    otherwise: str | None = None


class _WaitForEvent(_Step):
    type: Literal["wait_for_event"]
    event: str
    timeout_days: float = Field(gt=0)
    on_event: str | None = None
    on_timeout: str | None = None


class _Exit(_Step):
    type: Literal["exit"]


_TRIGGERS: dict[str, type[_Model]] = {
    "event": _EventTrigger,
    "segment": _SegmentTrigger,
    "date": _DateTrigger,
    "score": _ScoreTrigger,
    "schedule": _ScheduleTrigger,
}
_STEPS: dict[str, type[_Model]] = {
    "wait": _Wait,
    "send": _Send,
    "code": _IssueCode,
    "points": _AwardPoints,
    "task": _CreateTask,
    "branch": _Branch,
    "wait_for_event": _WaitForEvent,
    "exit": _Exit,
}
_AnyTrigger = Annotated[
    _EventTrigger | _SegmentTrigger | _DateTrigger | _ScoreTrigger | _ScheduleTrigger,
    Field(discriminator="kind"),
]
_AnyStep = Annotated[
    _Wait | _Send | _IssueCode | _AwardPoints | _CreateTask | _Branch | _WaitForEvent | _Exit,
    Field(discriminator="type"),
]


class _Flow(_Model):
    name: str
    title: str = Field(min_length=1)
    description: str = ""
    trigger: _AnyTrigger
    entry: dict[str, Any] | None = None
    steps: list[_AnyStep]
    exit_on: list[EventName] = Field(default_factory=list)
    reentry: Literal["never", "always", "after"] = "never"
    reentry_days: int | None = Field(default=None, ge=1)
    holdout: float = 0.1
    cap: _Cap | None = None
    settings: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"{value!r} is not a slug: 2 to 63 lower-case letters, digits and dashes, "
                "starting with a letter or digit"
            )
        return value


def _model_at(data: Any, path: Where) -> type[_Model] | None:
    """The model that reads the mapping at ``path`` (for listing the keys it takes)."""
    if path == ():
        return _Flow
    if path == ("trigger",) and isinstance(data.get("trigger"), dict):
        return _TRIGGERS.get(data["trigger"].get("kind"))
    if path == ("cap",):
        return _Cap
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        if path[2:] == ("offer",):
            return _Offer
        if path[2:] == ():
            step = data["steps"][path[1]]
            return _STEPS.get(str(step.get("type"))) if isinstance(step, dict) else None
    return None


def _shape_problems(error: ValidationError, data: Any) -> list[tuple[Where, str]]:
    found: list[tuple[Where, str]] = []
    for item in error.errors(include_url=False):
        loc: list[str | int] = list(item["loc"])
        kind, value, ctx = item["type"], item.get("input"), item.get("ctx") or {}
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            is_trigger = loc == ["trigger"]
            key, options = ("kind", _TRIGGERS) if is_trigger else ("type", _STEPS)
            what = "trigger kind" if is_trigger else "step type"
            listed = ", ".join(options)
            if kind == "union_tag_invalid":
                found.append(((*loc, key), f"unknown {what} {ctx.get('tag')!r}; {key}s: {listed}"))
            else:
                found.append(((*loc, key), f"required but missing; {key}s: {listed}"))
            continue
        # Drop the union tag pydantic puts after a trigger or step: ("steps", 2, "send", ...).
        if loc[:1] == ["trigger"] and len(loc) >= 2:
            del loc[1]
        elif loc[:1] == ["steps"] and len(loc) >= 3 and isinstance(loc[1], int):
            del loc[2]
        path = tuple(loc)
        if kind == "missing":
            message = "required but missing"
        elif kind == "extra_forbidden":
            model = _model_at(data, path[:-1])
            keys = f"; keys: {', '.join(model.model_fields)}" if model else ""
            message = f"unknown key {path[-1]!r}{keys}"
        elif kind == "literal_error":
            message = f"unknown value {value!r}; expected {ctx.get('expected')}"
        elif kind == "value_error":
            message = str(ctx.get("error", item["msg"]))
        else:
            text = item["msg"]
            message = f"{text[:1].lower()}{text[1:]}, not {value!r}"
        found.append((path, message))
    return found


# --- Building ------------------------------------------------------------------------------


def _amount(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _offer(model: _Offer, path: Where, problems: list[tuple[Where, str]]) -> Offer:
    value = "0"
    if model.kind == "percent":
        number = model.value
        if isinstance(number, str) and number.strip().isdigit():
            number = int(number)
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= 100:
            problems.append(
                ((*path, "value"), f"a percent offer needs a whole number 1 to 100, not {number!r}")
            )
        else:
            value = str(number)
    elif model.kind == "fixed":
        amount = _amount(model.value)
        if amount is None or amount <= 0:
            problems.append(
                (
                    (*path, "value"),
                    f'a fixed offer needs a positive amount such as "10.00", not {model.value!r}',
                )
            )
        else:
            value = str(model.value).strip()
    elif model.value is not None:
        problems.append(((*path, "value"), f"a free_shipping offer takes no value, not {model.value!r}"))
    minimum = "0"
    if model.minimum_order is not None:
        amount = _amount(model.minimum_order)
        if amount is None or amount < 0:
            problems.append(
                ((*path, "minimum_order"), f"needs an amount of 0 or more, not {model.minimum_order!r}")
            )
        else:
            minimum = str(model.minimum_order).strip()
    return Offer(model.kind, value, model.valid_days, minimum)


def _rule(rule: dict[str, Any], path: Where, problems: list[tuple[Where, str]]) -> None:
    try:
        compile_rule(rule, RULE_FIELDS)
    except RuleError as error:
        message = str(error).removeprefix(f"{error.path}: ") if error.path else str(error)
        problems.append(((*path, *split_path(error.path)), message))


def _trigger(model: _AnyTrigger, problems: list[tuple[Where, str]]) -> Trigger:
    if isinstance(model, _EventTrigger):
        return EventTrigger(model.event)
    if isinstance(model, _SegmentTrigger):
        return SegmentTrigger(model.segment, model.change)
    if isinstance(model, _DateTrigger):
        return DateTrigger(model.date, model.offset_days)
    if isinstance(model, _ScoreTrigger):
        if (model.above is None) == (model.below is None):
            problems.append((("trigger", "score"), "a score trigger needs exactly one of 'above' or 'below'"))
        return ScoreTrigger(model.score, model.above, model.below)
    return ScheduleTrigger(model.at, model.segment)


def _step(
    model: _AnyStep, path: Where, templates: Collection[str] | None, problems: list[tuple[Where, str]]
) -> Step:
    if isinstance(model, _Wait):
        return Wait(model.id, model.days, model.until)
    if isinstance(model, _Send):
        if templates is not None and model.template not in templates:
            problems.append(
                (
                    (*path, "template"),
                    f"unknown template {model.template!r}; templates: {', '.join(sorted(templates))}",
                )
            )
        offer = _offer(model.offer, (*path, "offer"), problems) if model.offer else None
        return Send(model.id, model.template, offer, model.channel)
    if isinstance(model, _IssueCode):
        return IssueCode(model.id, _offer(model.offer, (*path, "offer"), problems))
    if isinstance(model, _AwardPoints):
        return AwardPoints(model.id, model.points, model.reason)
    if isinstance(model, _CreateTask):
        return CreateTask(model.id, model.title, model.role, model.due_hours)
    if isinstance(model, _Branch):
        _rule(model.condition, (*path, "condition"), problems)
        return Branch(model.id, model.condition, model.then, model.otherwise)
    if isinstance(model, _WaitForEvent):
        return WaitForEvent(model.id, model.event, model.timeout_days, model.on_event, model.on_timeout)
    return Exit(model.id)


def read_flow(text: str, source: str = "", templates: Collection[str] | None = None) -> Flow:
    """The flow in ``text`` (YAML or JSON); ``source`` names the file in errors. With
    ``templates``, a Send step's template must be one of them. Raises ``FlowReadError``."""
    root, data = _parse(text, source)

    def fail(found: list[tuple[Where, str]]) -> FlowReadError:
        problems = [
            FlowError(message, format_path(path), line_of(root, path), source) for path, message in found
        ]
        problems.sort(key=lambda problem: problem.line or 0)
        return FlowReadError(problems)

    if not isinstance(data, dict):
        raise fail(
            [((), f"a flow is a mapping of keys such as name, trigger and steps, not {type(data).__name__}")]
        )
    try:
        model = _Flow.model_validate(data)
    except ValidationError as error:
        raise fail(_shape_problems(error, data)) from None

    found: list[tuple[Where, str]] = []
    trigger = _trigger(model.trigger, found)
    if model.entry is not None:
        _rule(model.entry, ("entry",), found)
    steps = tuple(_step(step, ("steps", index), templates, found) for index, step in enumerate(model.steps))
    flow = Flow(
        name=model.name,
        title=model.title,
        trigger=trigger,
        steps=steps,
        description=model.description,
        entry=model.entry,
        exit_on=tuple(model.exit_on),
        reentry=model.reentry,
        reentry_days=model.reentry_days,
        holdout=model.holdout,
        cap=Cap(model.cap.messages, model.cap.days) if model.cap else None,
        settings=model.settings,
    )
    found.extend((split_path(problem.path), problem.message) for problem in flow.problems())
    if found:
        raise fail(found)
    return flow


def load_flow(path: Path, templates: Collection[str] | None = None) -> Flow:
    """The flow in the file at ``path``; errors name the file by its name."""
    return read_flow(path.read_text(encoding="utf-8"), path.name, templates)


# --- Writing -------------------------------------------------------------------------------


def _clock(value: time) -> str:
    return f"{value:%H:%M:%S}" if value.second else f"{value:%H:%M}"


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, time):
        return _clock(value)
    return value


def _step_dict(step: Step) -> dict[str, Any]:
    data: dict[str, Any] = _plain(dataclasses.asdict(step))
    offer = data.get("offer")
    if isinstance(offer, dict) and offer["kind"] == "free_shipping":
        del offer["value"]
    return data


def flow_to_dict(flow: Flow) -> dict[str, Any]:
    """The flow as plain JSON-able data; ``read_flow(json.dumps(...))`` gives it back."""
    return {
        "name": flow.name,
        "title": flow.title,
        "description": flow.description,
        "trigger": _plain(dataclasses.asdict(flow.trigger)),
        "entry": _plain(flow.entry),
        "steps": [_step_dict(step) for step in flow.steps],
        "exit_on": list(flow.exit_on),
        "reentry": flow.reentry,
        "reentry_days": flow.reentry_days,
        "holdout": flow.holdout,
        "cap": dataclasses.asdict(flow.cap) if flow.cap else None,
        "settings": _plain(flow.settings),
    }


# --- The library ---------------------------------------------------------------------------


@cache
def _library() -> dict[str, Flow]:
    folder = resources.files("retain.flows").joinpath("library")
    flows: dict[str, Flow] = {}
    for entry in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if not entry.name.endswith(".yaml"):
            continue
        flow = read_flow(entry.read_text(encoding="utf-8"), entry.name)
        if flow.name != entry.name.removesuffix(".yaml"):
            raise FlowError(
                f"the flow is named {flow.name!r}; name the file after it", "name", None, entry.name
            )
        flows[flow.name] = flow
    return flows


def library() -> dict[str, Flow]:
    """The flows Retain ships, by name (read once)."""
    return dict(_library())
