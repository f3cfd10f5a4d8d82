"""Exactly once with real processes: a worker killed with SIGKILL in the middle of a batch,
and two workers sharing one PostgreSQL database.

Each worker is a separate Python process running ``work`` in a loop with small batches and
a short lease, at a fixed ``now``. Whatever happens to a worker, every run ends at its wait
step having done each of its actions exactly once: one flow action per step, one queued
message per send, one staff task, and no run left leased.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, insert, select

from retain.bootstrap import bootstrap
from retain.flows.reader import flow_to_dict, read_flow
from retain.store.tables import customers, flow_actions, flow_entries, message_queue, staff_tasks

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CUSTOMERS = 3_000
BATCH = 50
LEASE = timedelta(seconds=2)

FLOW = read_flow(
    """
name: exactly-once
title: Exactly once
trigger: {kind: event, event: order_placed}
steps:
  - {id: thanks, type: send, template: thank_you}
  - {id: note, type: task, title: Write a note, role: agent, due_hours: 24}
  - {id: tips, type: send, template: tips}
  - {id: pause, type: wait, days: 1}
  - {id: later, type: send, template: we_miss_you}
"""
)
WAIT_STEP = FLOW.step("pause")
SENDS, TASKS = 2, 1  # before the wait
ACTIONS = SENDS + TASKS

# A worker: ``work`` in a loop until no run is due, then "advanced <n>" on stdout. With
# ``pause_after`` set, the apply of the batch after that many batches writes its rows and
# then, before committing, creates the ``paused`` file and sleeps: a kill then lands
# with a batch leased and half-written in an open transaction.
WORKER = """
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from retain.bootstrap import bootstrap
from retain.runner import enabled_flows
from retain.service.flows import work
from retain.store.flows import SqlFlows

config = json.loads(sys.argv[1])
now = datetime.fromisoformat(config["now"])
lease = timedelta(seconds=config["lease"])
app = bootstrap(config["url"], migrate=False)
flows = enabled_flows(app)

if config.get("pause_after") is not None:
    real_apply = SqlFlows.apply
    applied = [0]

    def apply(self, outcomes, owner, at, codes, currency):
        written = real_apply(self, outcomes, owner, at, codes, currency)
        applied[0] += 1
        if applied[0] > config["pause_after"]:
            Path(config["paused"]).touch()
            time.sleep(600)
        return written

    SqlFlows.apply = apply

if config.get("ready"):
    Path(config["ready"]).touch()
if config.get("go"):
    while not Path(config["go"]).exists():
        time.sleep(0.005)
advanced = 0
while done := work(flows, app.unit_of_work, config["owner"], now, limit=config["batch"], lease=lease):
    advanced += done
app.close()
print(f"advanced {advanced}", flush=True)
"""


def make_store(url: str, count: int) -> None:
    """``count`` customers, the flow enabled, and every customer's run due at ``NOW``."""
    app = bootstrap(url)
    people = [
        {"id": i, "external_id": f"C{i:07d}", "email": f"customer{i}@example.com", "name": f"Customer {i}",
         "marketing_consent": True, "consent_source": "checkout", "consent_at": NOW, "attributes": {}}
        for i in range(1, count + 1)
    ]  # fmt: skip
    runs = [
        {"flow": FLOW.name, "customer_id": i, "entry_no": 1, "entered_at": NOW, "holdout": False,
         "state": "active", "step": 0, "next_run_at": NOW, "context": {}}
        for i in range(1, count + 1)
    ]  # fmt: skip
    with app.unit_of_work() as uow:
        uow.flows.save(FLOW.name, flow_to_dict(FLOW), NOW, enabled=True)
        uow.connection.execute(insert(customers), people)
        uow.connection.execute(insert(flow_entries), runs)
        uow.commit()
    app.close()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    make_store(db_url, CUSTOMERS)
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


def start_worker(tmp_path: Path, url: str, owner: str, now: datetime, **extra: Any) -> subprocess.Popen[str]:
    script = tmp_path / "worker.py"
    if not script.exists():
        script.write_text(WORKER)
    config = {"url": url, "owner": owner, "now": now.isoformat(), "lease": LEASE.total_seconds(),
              "batch": BATCH, **extra}  # fmt: skip
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen[str], timeout: float = 60) -> int:
    """Wait for a worker to end cleanly; how many runs it advanced."""
    out, err = worker.communicate(timeout=timeout)
    assert worker.returncode == 0, err
    return int(out.split("advanced ")[-1])


def kill(worker: subprocess.Popen[str]) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def wait_for(condition: Any, worker: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None:
            pytest.fail(f"the worker ended before the kill: {worker.communicate()}")
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        time.sleep(0.005)


def assert_exactly_once(engine: Engine, count_: int, advanced_at: dict[datetime, int]) -> None:
    """Every run waits at the wait step, due a day after the ``now`` of the worker that
    advanced it, unleased; every action exists once, with its message or task."""
    with engine.connect() as connection:
        runs = connection.execute(select(flow_entries)).all()
        assert len(runs) == count_
        assert {(r.state, r.step, r.waiting_for) for r in runs} == {("active", WAIT_STEP, None)}
        assert all(r.context == {"waiting_at": WAIT_STEP} for r in runs)
        assert [r for r in runs if r.lease_owner is not None or r.lease_until is not None] == []
        due: dict[datetime, int] = {}
        for r in runs:
            due[r.next_run_at - timedelta(days=1)] = due.get(r.next_run_at - timedelta(days=1), 0) + 1
        assert due == {at: n for at, n in advanced_at.items() if n}

        keys = list(connection.scalars(select(flow_actions.c.key)))
        assert len(keys) == len(set(keys)) == count_ * ACTIONS
        per_run = connection.execute(
            select(flow_actions.c.entry_id, func.count()).group_by(flow_actions.c.entry_id)
        ).all()
        assert len(per_run) == count_
        assert {n for _, n in per_run} == {ACTIONS}
        kinds = dict(
            connection.execute(select(flow_actions.c.kind, func.count()).group_by(flow_actions.c.kind)).all()
        )
        assert kinds == {"send": count_ * SENDS, "task": count_ * TASKS}

        queued = connection.execute(select(message_queue.c.key, message_queue.c.customer_id)).all()
        queued_keys = [k for k, _ in queued]
        assert len(queued_keys) == len(set(queued_keys)) == count_ * SENDS
        sent = set(connection.scalars(select(flow_actions.c.key).where(flow_actions.c.kind == "send")))
        assert set(queued_keys) == sent
        assert {c for _, c in queued} == set(range(1, count_ + 1))

        tasks = connection.execute(select(staff_tasks.c.key, staff_tasks.c.customer_id)).all()
        assert len(tasks) == len({k for k, _ in tasks}) == count_ * TASKS
        assert {c for _, c in tasks} == set(range(1, count_ + 1))


@pytest.mark.parametrize("kill_at", ["inside-apply", "free-running"])
def test_a_worker_killed_mid_batch_leaves_nothing_twice_and_nothing_missing(
    engine: Engine, db_url: str, tmp_path: Path, kill_at: str
) -> None:
    total = CUSTOMERS * ACTIONS
    paused = tmp_path / "paused"
    if kill_at == "inside-apply":
        # Ten batches commit; the eleventh is leased and written but not committed.
        first = start_worker(tmp_path, db_url, "first", NOW, pause_after=10, paused=str(paused))
        wait_for(paused.exists, first)
    else:
        first = start_worker(tmp_path, db_url, "first", NOW)
        wait_for(lambda: count(engine, flow_actions) > 0, first)
    kill(first)

    before = count(engine, flow_actions)
    assert 0 < before < total, f"the kill did not land mid-way: {before} of {total} actions"
    assert before % ACTIONS == 0  # whole runs only: each batch commits all or nothing
    with engine.connect() as connection:
        leased = connection.scalar(
            select(func.count()).where(
                flow_entries.c.lease_owner == "first", flow_entries.c.state == "active"
            )
        )
    if kill_at == "inside-apply":
        assert before == 10 * BATCH * ACTIONS
        assert leased == BATCH  # the batch the kill cut short is still leased to the dead worker

    # The second worker's clock is past the dead worker's leases.
    later = NOW + LEASE + timedelta(seconds=1)
    advanced = finish(start_worker(tmp_path, db_url, "second", later))
    assert advanced == CUSTOMERS - before // ACTIONS
    assert_exactly_once(engine, CUSTOMERS, {NOW: before // ACTIONS, later: advanced})


@pytest.mark.postgres
def test_two_workers_share_the_runs_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    make_store(postgres_url, CUSTOMERS)
    engine = create_engine(postgres_url)
    go = tmp_path / "go"
    workers = [
        start_worker(tmp_path, postgres_url, owner, NOW, go=str(go), ready=str(tmp_path / f"ready-{owner}"))
        for owner in ("one", "two")
    ]
    try:
        for worker, owner in zip(workers, ("one", "two"), strict=True):
            wait_for((tmp_path / f"ready-{owner}").exists, worker)  # both loaded before either works
        go.touch()
        advanced = [finish(worker) for worker in workers]
        assert sum(advanced) == CUSTOMERS
        assert all(n > 0 for n in advanced), f"one worker did everything: {advanced}"
        assert_exactly_once(engine, CUSTOMERS, {NOW: CUSTOMERS})
        with engine.connect() as connection:
            owners = dict(
                connection.execute(
                    select(message_queue.c.customer_id, func.count()).group_by(message_queue.c.customer_id)
                ).all()
            )
        assert set(owners.values()) == {SENDS}
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.communicate()
        engine.dispose()
