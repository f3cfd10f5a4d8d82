"""Delivery into a folder of ``.eml`` files, for the demo and for stores without SMTP settings.

Any mail client opens the files, and another program can pick them up and send them. One
message key is one file, written once: handing a message over again, after a crash or a
retry, leaves the file that is there.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Self

from retain.domain.messages import DeliveryResult, OutgoingEmail, skipped
from retain.messaging.mime import message_bytes, utc_now

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_READABLE_LENGTH = 80


def file_name(key: str) -> str:
    """A name safe on every file system, readable, and distinct for distinct keys.

    The key's readable part loses every other character (``a/b`` and ``a:b`` would both
    read ``a_b``), so a digest of the whole key keeps them apart.
    """
    readable = _UNSAFE.sub("_", key).strip("._")[:_READABLE_LENGTH] or "message"
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.eml"


class FileOutbox:
    def __init__(self, folder: Path, *, now: Callable[[], datetime] = utc_now) -> None:
        self.folder = folder
        self._now = now

    def send(self, messages: Iterable[OutgoingEmail]) -> list[DeliveryResult]:
        self.folder.mkdir(parents=True, exist_ok=True)
        results: list[DeliveryResult] = []
        for message in messages:
            if reason := message.skip_reason():
                results.append(skipped(message, reason))
                continue
            data = message_bytes(message, self._now())
            written = self._write(self.folder / file_name(message.key), data)
            detail = "" if written else "already in the outbox"
            results.append(DeliveryResult(message.key, message.to_address, "sent", detail, attempts=1))
        return results

    def close(self) -> None:
        """Nothing stays open between calls."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _write(self, path: Path, data: bytes) -> bool:
        """Whole or not at all, and never over an existing file: False when there is one.

        The bytes go to a temporary file first and are then linked under their name: the
        link fails if the name exists, so two writers of one key cannot both win, and a
        crash halfway leaves no half-written message behind under the real name.
        """
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.link(temporary, path)
        except FileExistsError:
            return False
        finally:
            os.unlink(temporary)
        return True
