"""A one-off flow to a segment, from the library's newsletter flow: at a set time, everyone
stored in the segment enters once, a tenth is held out to measure what it earned, and the
rest get one message."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from retain.domain.flows import FlowError
from retain.flows.reader import flow_to_dict, library, read_flow

MAX_TITLE = 120


@dataclass(frozen=True)
class SegmentFlow:
    name: str
    document: dict[str, Any]


def _slug(key: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", key.partition(":")[2].lower()).strip("-")
    return words[:30].strip("-") or "segment"


def segment_flow(
    key: str, template: str, at: datetime, title: str, templates: Collection[str], taken: Collection[str]
) -> SegmentFlow:
    """The flow document sending ``template`` to the members of segment ``key`` at ``at``,
    checked by the flow reader; its name is new among ``taken``. Raises ``FlowError``."""
    if not key.partition(":")[2] or key.partition(":")[0] not in ("rfm", "group", "rule"):
        raise FlowError(f"{key!r} is not a segment; choose one from the segments page")
    title = " ".join(title.split())[:MAX_TITLE] or f"{template or 'Message'} to {key.partition(':')[2]}"
    base = f"segment-{_slug(key)}-{at:%Y%m%d-%H%M}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    document = flow_to_dict(library()["newsletter"]) | {
        "name": name,
        "title": title,
        "description": f"A one-off message to the members of {key}, started from the segments page.",
        "trigger": {"kind": "schedule", "at": at.isoformat(), "segment": key},
        "steps": [{"id": "send", "type": "send", "template": template}],
        "settings": {"segment": key},
    }
    flow = read_flow(json.dumps(document), name, templates)
    return SegmentFlow(flow.name, flow_to_dict(flow))
