"""Rules stored as data, compiled into checked condition trees; unknown names fail closed.

A rule is ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": {...}}`` or a leaf
``{"field": "orders", "op": ">=", "value": 2}``. Compiling checks every field, operator and
value against the fields on offer, and says exactly where a rule is wrong.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

FieldKind = Literal["number", "text", "boolean"]
OPERATORS: dict[str, tuple[FieldKind, ...]] = {
    "=": ("number", "text", "boolean"),
    "!=": ("number", "text", "boolean"),
    ">": ("number",),
    ">=": ("number",),
    "<": ("number",),
    "<=": ("number",),
    "in": ("number", "text"),
    "not in": ("number", "text"),
}


class RuleError(ValueError):
    """A rule that cannot be compiled; ``path`` says where, e.g. ``all[1].op``."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


@dataclass(frozen=True, slots=True)
class Leaf:
    field: str
    op: str
    value: object


@dataclass(frozen=True, slots=True)
class Group:
    mode: Literal["all", "any", "not"]
    children: tuple[Condition, ...]


Condition = Leaf | Group


def compile_rule(rule: object, fields: Mapping[str, FieldKind], path: str = "") -> Condition:
    if not isinstance(rule, Mapping):
        raise RuleError(path, "a condition must be an object")
    if "field" in rule:
        return _leaf(rule, fields, path)
    modes: list[Literal["all", "any", "not"]] = [m for m in ("all", "any", "not") if m in rule]
    if len(modes) != 1 or len(rule) != 1:
        raise RuleError(path, 'expected exactly one of "all", "any", "not", or a "field" condition')
    mode = modes[0]
    here = f"{path}.{mode}" if path else mode
    if mode == "not":
        return Group("not", (compile_rule(rule["not"], fields, here),))
    items = rule[mode]
    if not isinstance(items, Sequence) or isinstance(items, str) or not items:
        raise RuleError(here, "expected a non-empty list of conditions")
    return Group(mode, tuple(compile_rule(item, fields, f"{here}[{i}]") for i, item in enumerate(items)))


def _leaf(rule: Mapping[str, object], fields: Mapping[str, FieldKind], path: str) -> Leaf:
    extra = set(rule) - {"field", "op", "value"}
    if extra:
        raise RuleError(path, f"unknown key(s) {', '.join(sorted(extra))}")
    name, op, value = rule.get("field"), rule.get("op"), rule.get("value")
    if not isinstance(name, str) or name not in fields:
        raise RuleError(
            f"{path}.field" if path else "field",
            f"unknown field {name!r}; fields: {', '.join(sorted(fields))}",
        )
    kind = fields[name]
    if not isinstance(op, str) or op not in OPERATORS:
        raise RuleError(
            f"{path}.op" if path else "op", f"unknown operator {op!r}; operators: {', '.join(OPERATORS)}"
        )
    if kind not in OPERATORS[op]:
        raise RuleError(f"{path}.op" if path else "op", f"{op!r} does not apply to {kind} field {name!r}")
    if op in ("in", "not in") and (not isinstance(value, list) or not value):
        raise RuleError(f"{path}.value" if path else "value", f"{op!r} needs a non-empty list")
    values: list[object] = value if isinstance(value, list) else [value]
    for item in values:
        if not _fits(kind, item):
            raise RuleError(f"{path}.value" if path else "value", f"{item!r} is not a {kind} for {name!r}")
    return Leaf(name, op, value)


def _fits(kind: FieldKind, value: object) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


def holds(condition: Condition, facts: Mapping[str, object]) -> bool:
    """Whether ``condition`` holds for one customer's ``facts``, with SQL's rule for missing
    values: a comparison with a missing value is unknown, and unknown never holds, not even
    under "not" (as in the segment queries)."""
    return _truth(condition, facts) is True


def _truth(node: Condition, facts: Mapping[str, object]) -> bool | None:
    if isinstance(node, Leaf):
        value = facts.get(node.field)
        if value is None:
            return None
        return bool(_COMPARE[node.op](value, node.value))
    values = [_truth(child, facts) for child in node.children]
    if node.mode == "not":
        return None if values[0] is None else not values[0]
    if node.mode == "all":
        return False if False in values else (None if None in values else True)
    return True if True in values else (None if None in values else False)


def fields_of(condition: Condition) -> set[str]:
    """The fields a condition reads."""
    if isinstance(condition, Leaf):
        return {condition.field}
    return set().union(*(fields_of(child) for child in condition.children))
