"""Which transport a store gets: its SMTP server when one is configured, else the file outbox."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from retain.messaging.outbox import FileOutbox
from retain.messaging.smtp import SmtpTransport, parse_smtp_url
from retain.service.ports import MailTransport


def mail_transport(smtp_url: SecretStr | None, outbox: Path) -> MailTransport:
    """``smtp_url`` is ``Settings.smtp_url`` (``RETAIN_SMTP_URL``); nothing connects until the
    first message goes out, so a bad URL is refused here and an unreachable server later."""
    if smtp_url is None:
        return FileOutbox(outbox)
    return SmtpTransport(parse_smtp_url(smtp_url.get_secret_value()))
