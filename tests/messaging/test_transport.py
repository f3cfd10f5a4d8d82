"""Settings choose the transport: SMTP when RETAIN_SMTP_URL is set, else the file outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from retain.config import Settings
from retain.domain.messages import Mailbox
from retain.messaging.outbox import FileOutbox
from retain.messaging.smtp import SmtpTransport, SmtpUrlError
from retain.messaging.transport import mail_transport
from tests.messaging.conftest import Server, outgoing


def test_without_smtp_settings_mail_goes_to_the_outbox(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RETAIN_SMTP_URL", raising=False)
    monkeypatch.setenv("RETAIN_MAIL_FROM", "")
    settings = Settings()
    assert (settings.smtp_url, settings.mail_from) == (None, None)
    with mail_transport(settings.smtp_url, tmp_path) as transport:
        assert isinstance(transport, FileOutbox)
        assert transport.send([outgoing(1)])[0].status == "sent"
    assert len(list(tmp_path.glob("*.eml"))) == 1


def test_with_smtp_settings_mail_goes_to_the_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: Server
) -> None:
    monkeypatch.setenv("RETAIN_SMTP_URL", f"smtp://{server.host}:{server.port}")
    monkeypatch.setenv("RETAIN_MAIL_FROM", "Coffee & Co <shop@example.com>")
    settings = Settings()
    assert settings.mail_from == Mailbox("shop@example.com", "Coffee & Co")
    with mail_transport(settings.smtp_url, tmp_path) as transport:
        assert isinstance(transport, SmtpTransport)
        assert transport.send([outgoing(1, sender=settings.mail_from)])[0].status == "sent"
    assert list(tmp_path.iterdir()) == []
    assert server.handler.received[0].sender == "shop@example.com"


def test_the_smtp_password_never_shows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RETAIN_SMTP_URL", "smtp://shop:hunter2@mail.example.com")
    settings = Settings()
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    with pytest.raises(SmtpUrlError, match=r"^starttls:") as refused:
        mail_transport(settings.smtp_url, tmp_path)
    assert "hunter2" not in str(refused.value)


def test_a_sender_that_is_not_an_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIN_MAIL_FROM", "the shop")
    with pytest.raises(ValidationError, match="mail_from"):
        Settings()
