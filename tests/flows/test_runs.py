"""The step machine of one run, with no store: waits, sends, branches, events, exits."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime, time, timedelta

import pytest

from retain.domain.flow_runs import Run, advance, holdouts, may_enter, next_local_time
from retain.flows.reader import read_flow

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday

FLOW = read_flow(
    """
name: sample
title: Sample
trigger: {kind: event, event: order_placed}
steps:
  - {id: hello, type: send, template: thank_you}
  - id: big
    type: branch
    condition: {field: order_total, op: ">=", value: 150}
    then: note
    otherwise: pause
  - {id: note, type: task, title: Write a note, role: agent, due_hours: 24}
  - {id: pause, type: wait, days: 2, until: "10:00"}
  - {id: tips, type: send, template: tips, offer: {kind: percent, value: 10}}
  - {id: listen, type: wait_for_event, event: order_placed, timeout_days: 7, on_event: exit}
  - {id: last, type: send, template: we_miss_you}
holdout: 0.1
"""
)


def run(step: int = 0, context: dict[str, object] | None = None) -> Run:
    return Run(1, "sample", 42, 1, step, NOW, dict(context or {}))


def test_steps_run_until_the_first_wait() -> None:
    outcome = advance(FLOW, run(context={"order_total": 200.0}), NOW, {}, "Europe/Paris")
    assert [(a.kind, a.step) for a in outcome.actions] == [("send", "hello"), ("task", "note")]
    assert outcome.actions[0].key == "flow:sample:hello:42:1"
    assert outcome.actions[1].due_at == NOW + timedelta(hours=24)
    assert outcome.state == "active"
    assert outcome.run.step == FLOW.step("pause")
    # Two days on, then 10:00 in Paris (UTC+1 in March): Wednesday 09:00 UTC.
    assert outcome.next_run_at == datetime(2026, 3, 5, 9, 0, tzinfo=UTC)


def test_a_branch_that_fails_goes_to_otherwise() -> None:
    outcome = advance(FLOW, run(context={"order_total": 20.0}), NOW, {})
    assert [a.step for a in outcome.actions] == ["hello"]
    assert outcome.run.step == FLOW.step("pause")


def test_a_missing_fact_never_satisfies_a_condition() -> None:
    outcome = advance(FLOW, run(), NOW, {})
    assert [a.step for a in outcome.actions] == ["hello"]


def test_after_the_wait_the_run_goes_on_to_the_event_wait() -> None:
    paused = advance(FLOW, run(context={"order_total": 20.0}), NOW, {}).run
    later = NOW + timedelta(days=3)
    outcome = advance(FLOW, paused, later, {})
    assert [(a.step, a.offer.value if a.offer else None) for a in outcome.actions] == [("tips", "10")]
    assert outcome.waiting_for == "order_placed"
    assert outcome.next_run_at == later + timedelta(days=7)


def test_an_awaited_event_ends_the_run_and_a_timeout_moves_on() -> None:
    paused = advance(FLOW, run(context={"order_total": 20.0}), NOW, {}).run
    waiting = advance(FLOW, paused, NOW + timedelta(days=3), {}).run
    seen = advance(
        FLOW, Run(**{**waiting.__dict__, "context": {**waiting.context, "seen": "order_placed"}}), NOW, {}
    )
    assert (seen.state, seen.exit_reason, seen.actions) == ("completed", "event", [])
    timed_out = advance(FLOW, waiting, NOW + timedelta(days=11), {})
    assert [a.step for a in timed_out.actions] == ["last"]
    assert timed_out.state == "completed"


def _share_of(flow: str, customer: int, entry_no: int) -> float:
    """The share at which this entry stops being held out: its hash as a fraction."""
    digest = hashlib.sha256(f"{flow}:{customer}:{entry_no}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def in_holdout(flow: str, customer: int, entry_no: int, share: float) -> bool:
    """The holdout's definition, one entry at a time: stores keep the runs it decided, so
    ``holdouts`` must answer exactly as it does."""
    return _share_of(flow, customer, entry_no) < share


def test_holdout_is_deterministic_and_about_the_share() -> None:
    customers = list(range(20_000))
    first = holdouts("sample", customers, [1] * 20_000, 0.1)
    assert first == holdouts("sample", customers, [1] * 20_000, 0.1)
    assert 0.09 < sum(first) / len(first) < 0.11
    assert first != holdouts("other", customers, [1] * 20_000, 0.1)


@pytest.mark.parametrize(
    "share",
    [
        0.0,
        -0.5,
        1.0,
        1.5,
        0.1,
        0.5,
        0.999,
        1e-9,
        _share_of("sample", 7, 2),
        math.nextafter(_share_of("sample", 7, 2), 1),
    ],
)
def test_holding_out_many_entries_answers_as_one_at_a_time(share: float) -> None:
    customers = [*range(5_000), 7]
    entry_nos = [1 + c % 3 for c in range(5_000)] + [2]
    expected = [in_holdout("sample", c, n, share) for c, n in zip(customers, entry_nos, strict=True)]
    assert holdouts("sample", customers, entry_nos, share) == expected


def test_an_entry_whose_hash_is_the_share_itself_is_not_held_out() -> None:
    share = _share_of("sample", 7, 2)  # the comparison is strict: just above it, it is
    assert holdouts("sample", [7], [2], share) == [False] == [in_holdout("sample", 7, 2, share)]
    above = math.nextafter(share, 1)
    assert holdouts("sample", [7], [2], above) == [True] == [in_holdout("sample", 7, 2, above)]


@pytest.mark.parametrize(
    ("reentry", "days", "last", "active", "allowed"),
    [
        ("never", None, None, False, True),
        ("never", None, NOW - timedelta(days=400), False, False),
        ("always", None, NOW - timedelta(days=1), False, True),
        ("always", None, NOW - timedelta(days=1), True, False),
        ("after", 30, NOW - timedelta(days=29), False, False),
        ("after", 30, NOW - timedelta(days=30), False, True),
    ],
)
def test_the_reentry_policy(
    reentry: str, days: int | None, last: datetime | None, active: bool, allowed: bool
) -> None:
    flow = read_flow(
        "name: again\ntitle: Again\ntrigger: {kind: event, event: order_placed}\n"
        f"steps: [{{id: a, type: send, template: thank_you}}]\nreentry: {reentry}\n"
        + (f"reentry_days: {days}\n" if days else "")
    )
    assert may_enter(flow, last, active, NOW) is allowed


def test_local_times_follow_the_customers_clock_across_a_daylight_saving_change() -> None:
    # New York moves to summer time on 8 March 2026: 10:00 is 15:00 UTC before, 14:00 after.
    assert next_local_time(NOW, time(10), "America/New_York") == datetime(2026, 3, 2, 15, tzinfo=UTC)
    after = datetime(2026, 3, 9, 16, tzinfo=UTC)
    assert next_local_time(after, time(10), "America/New_York") == datetime(2026, 3, 10, 14, tzinfo=UTC)
    assert next_local_time(NOW, time(10), "Not/AZone") == datetime(2026, 3, 3, 10, tzinfo=UTC)
