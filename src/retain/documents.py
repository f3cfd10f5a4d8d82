"""YAML documents people write by hand (flows, the loyalty program), read with their lines.

``parse`` gives the data and the composed node tree, so a problem found later can name the
line of the key it is about (``line_of``). The loader is safe YAML without YAML 1.1's
surprises: ``10:00`` and ``2026-12-01`` stay text (not sexagesimal 600 or a date), and
``1e-05`` (as JSON writes it) is a number. JSON is YAML, so one reader serves both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

Where = tuple[str | int, ...]  # a place in the document: ("steps", 2, "template")


class DocumentError(ValueError):
    """Text that is not a readable document: ``problems`` holds (message, line) pairs."""

    def __init__(self, problems: list[tuple[str, int | None]]) -> None:
        super().__init__("; ".join(message for message, _ in problems))
        self.problems = problems


class _Loader(yaml.SafeLoader):
    """Safe YAML with JSON's numbers and without implicit dates or sexagesimals."""


_DROPPED = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$"
    ),
    list("-+.0123456789"),
)


def parse(text: str) -> tuple[yaml.Node | None, Any]:
    """The composed node tree (for lines) and the data; (None, None) for an empty text."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        duplicates = list(_duplicate_keys(node))
        if duplicates:
            raise DocumentError([(f"key {key!r} is given twice", line) for key, line in duplicates])
        data = _whole_characters(loader.construct_document(node))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = " ".join(part for part in (error.context, error.problem) if part)
        raise DocumentError([(f"not valid YAML: {reason}", line)]) from None
    except yaml.YAMLError as error:
        raise DocumentError([(f"not valid YAML: {error}", None)]) from None
    finally:
        loader.dispose()
    return node, data


def _duplicate_keys(node: yaml.Node) -> Iterator[tuple[str, int]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield key.value, key.start_mark.line + 1
                seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _whole_characters(value: Any) -> Any:
    """Join surrogate pairs from JSON's ``\\ud83d\\ude00`` escapes, which YAML leaves apart."""
    if isinstance(value, str):
        if any("\ud800" <= char <= "\udfff" for char in value):
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, dict):
        return {_whole_characters(key): _whole_characters(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_characters(item) for item in value]
    return value


def line_of(root: yaml.Node, path: Where) -> int:
    """The line of the key or item at ``path``, or of the nearest parent that exists."""
    node, line = root, root.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            found = [(key, value) for key, value in node.value if getattr(key, "value", None) == part]
            if not found:
                break
            key, node = found[-1]
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def format_path(path: Where) -> str:
    """``("steps", 2, "then")`` as ``"steps[2].then"``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else part
    return text


def split_path(path: str) -> Where:
    """``"steps[2].then"`` as ``("steps", 2, "then")``."""
    return tuple(int(index) if index else name for index, name in re.findall(r"\[(\d+)\]|([^.\[\]]+)", path))
