"""Batches delivered in the background: by a process for SMTP, by a thread for the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from retain.messaging.courier import Courier
from retain.messaging.smtp import SmtpUrlError
from tests.messaging.conftest import Server, outgoing


def test_an_smtp_courier_delivers_batches_in_order_over_one_connection(
    server: Server, tmp_path: Path
) -> None:
    server.handler.unknown.add("customer3@example.com")
    with Courier(SecretStr(f"smtp://{server.host}:{server.port}"), tmp_path) as courier:
        first = courier.submit([outgoing(1), outgoing(2)])
        second = courier.submit([outgoing(3), outgoing(4)])
        results = first.result(timeout=30) + second.result(timeout=30)
    assert [(r.key, r.status) for r in results] == [
        ("winback:1", "sent"),
        ("winback:2", "sent"),
        ("winback:3", "permanent_failure"),
        ("winback:4", "sent"),
    ]
    assert results[2].code == 550
    assert [r.recipients for r in server.handler.received] == [
        ["customer1@example.com"],
        ["customer2@example.com"],
        ["customer4@example.com"],
    ]
    assert server.handler.connections() == 1


def test_without_smtp_the_courier_fills_the_outbox(tmp_path: Path) -> None:
    with Courier(None, tmp_path / "outbox") as courier:
        results = courier.submit([outgoing(1), outgoing(1), outgoing(2)]).result(timeout=30)
    assert [r.status for r in results] == ["sent", "sent", "sent"]
    assert results[1].detail == "already in the outbox"
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_a_bad_smtp_url_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(SmtpUrlError):
        Courier(SecretStr("smtp://:25?starttls=maybe"), tmp_path)
