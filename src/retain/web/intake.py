"""Deliveries that arrive together, kept together and applied together.

Applying orders costs about as much for one as for a hundred (the checks of the import run
over whole columns), and SQLite takes one writer at a time anyway. So each request puts its
delivery in a queue and waits; one worker thread, alive while there is work, takes what is
queued, keeps it all in one transaction, applies it in the next, and answers each request.
A request that waits longer than ``WAIT`` is answered without its outcome: kept (202), or,
if even that has not happened yet, not (503).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass

from retain.bootstrap import App
from retain.webhooks import Incoming, Outcome, known, process, record

WAIT = 3.0  # seconds a request waits for its delivery to be applied; Shopify gives up at 5
MOST = 200  # deliveries applied together at most
LINGER = 0.005  # seconds a round waits at most for more deliveries to join it
log = logging.getLogger(__name__)


@dataclass
class _Ticket:
    incoming: Incoming
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[Outcome | None]
    delivery: int | None = None  # set once the delivery is committed
    kept: bool = False


class Intake:
    """The queue of one application's deliveries and the worker thread that empties it."""

    def __init__(self, app: App, most: int = MOST, wait: float = WAIT, linger: float = LINGER) -> None:
        self.app, self.most, self.wait, self.linger = app, most, wait, linger
        self._lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._working = False

    async def deliver(self, incoming: Incoming) -> Outcome | None:
        """What became of the delivery; None when it could not be kept."""
        loop = asyncio.get_running_loop()
        ticket = _Ticket(incoming, loop, loop.create_future())
        with self._lock:
            self._queue.append(ticket)
            start, self._working = not self._working, True
        if start:
            threading.Thread(target=self._work, name="retain-webhooks", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(ticket.done), self.wait)
        except TimeoutError:  # still at work: kept, or (rarely) not even that yet
            return Outcome("queued", ticket.delivery) if ticket.kept else None

    def _work(self) -> None:
        while True:
            self._gather()
            with self._lock:
                batch, self._queue = self._queue[: self.most], self._queue[self.most :]
                if not batch:
                    self._working = False
                    return
            try:
                self._round(batch)
            except Exception as error:  # a bug: answer for this round, keep serving the next
                log.error("webhook round failed: %s", type(error).__name__)
                for ticket in batch:
                    _settle(ticket, Outcome("queued", ticket.delivery) if ticket.kept else None)

    def _gather(self) -> None:
        """Wait while deliveries keep coming, up to ``linger``: the senders just answered
        send their next ones within a millisecond or two, and one round of many costs about
        what a round of one does."""
        deadline = time.monotonic() + self.linger
        seen = -1
        while (waiting := len(self._queue)) != seen and waiting < self.most and time.monotonic() < deadline:
            seen = waiting
            time.sleep(0.001)

    def _round(self, batch: list[_Ticket]) -> None:
        firsts: dict[tuple[str, str], _Ticket] = {}
        for ticket in batch:
            firsts.setdefault((ticket.incoming.source, ticket.incoming.delivery_id), ticket)
        unique = list(firsts.values())
        try:
            kept = record(self.app, [t.incoming for t in unique])
        except Exception:  # the database is away: nothing kept, the sender will try again
            for ticket in batch:
                _settle(ticket, None)
            return
        outcomes: dict[int, Outcome] = {}
        for ticket, (ident, before) in zip(unique, kept, strict=True):
            ticket.delivery = ident if ident is not None else (before.id if before else None)
            ticket.kept = True
            outcomes[id(ticket)] = known(before)
        try:
            applied = process(self.app, [ident for ident, _ in kept if ident is not None])
        except Exception:  # not even the failure could be written: the retry will see to it
            applied = {}
        for ticket, (ident, _) in zip(unique, kept, strict=True):
            if ident is not None:
                outcomes[id(ticket)] = applied.get(ident, Outcome("queued", ident))
        for ticket in batch:  # a delivery sent twice in one round: the second is a duplicate
            first = firsts[(ticket.incoming.source, ticket.incoming.delivery_id)]
            outcome = outcomes[id(first)]
            if first is not ticket:
                ticket.delivery, ticket.kept = first.delivery, True
                if outcome.status in ("processed", "ignored"):
                    outcome = Outcome("duplicate", outcome.delivery)
            _settle(ticket, outcome)


def _settle(ticket: _Ticket, outcome: Outcome | None) -> None:
    def resolve() -> None:
        if not ticket.done.done():
            ticket.done.set_result(outcome)

    with contextlib.suppress(RuntimeError):  # the request's loop is gone: nobody waits
        ticket.loop.call_soon_threadsafe(resolve)
