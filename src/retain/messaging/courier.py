"""Delivery in the background, so the next batch is filled in while this one travels.

Building MIME and talking SMTP take as much interpreter time as rendering, so the SMTP
courier is a process of its own, with its own interpreter lock and its own connection to
the server; the file outbox, which only writes files, runs in a thread.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Self

from pydantic import SecretStr

from retain.domain.messages import DeliveryResult, OutgoingEmail
from retain.messaging.transport import mail_transport
from retain.service.ports import MailTransport

# The transport of a courier process, opened once when the process starts.
_transport: MailTransport | None = None


def _open(smtp_url: str | None, outbox: str) -> None:
    global _transport
    _transport = mail_transport(SecretStr(smtp_url) if smtp_url else None, Path(outbox))


def _send(messages: list[OutgoingEmail]) -> list[DeliveryResult]:
    assert _transport is not None, "the courier process has no transport"
    return _transport.send(messages)


def _close() -> None:
    if _transport is not None:
        _transport.close()


class Courier:
    """``submit`` hands a batch over and returns at once; batches go out one at a time, in
    the order given. Closing waits for the last batch and closes the connection."""

    def __init__(self, smtp_url: SecretStr | None, outbox: Path) -> None:
        self._pool: Executor
        if smtp_url is None:
            self._transport: MailTransport | None = mail_transport(None, outbox)
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="retain-outbox")
        else:
            self._transport = None
            mail_transport(smtp_url, outbox)  # a bad URL is refused here, not in the process
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_open,
                initargs=(smtp_url.get_secret_value(), str(outbox)),
            )

    def submit(self, messages: list[OutgoingEmail]) -> Future[list[DeliveryResult]]:
        if self._transport is not None:
            return self._pool.submit(self._transport.send, messages)
        return self._pool.submit(_send, messages)

    def close(self) -> None:
        if self._transport is not None:
            self._pool.shutdown(wait=True)
            self._transport.close()
        else:
            self._pool.submit(_close).result()
            self._pool.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
