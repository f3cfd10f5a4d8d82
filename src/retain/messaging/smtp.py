"""Delivery over SMTP: one connection for many messages, retried with backoff when it is worth it.

What a failed try means depends on how far it reaches:

- this message: a 4xx reply is tried again after 1, 2, 4... seconds; a 5xx reply to the
  recipient or the content is final, reported as a permanent failure so the caller can
  suppress the address.
- the connection (refused, timed out, dropped): reconnect and try again; if the server
  stays out of reach, the rest of the batch is reported as temporary failures untried,
  rather than waiting out the backoff once per message.
- the server itself (login refused, no TLS, certificate not trusted, sender refused for
  good): no other message would pass either, and it is no fault of the recipients, so the
  rest of the batch comes back as temporary failures, never as permanent ones.
"""

from __future__ import annotations

import smtplib
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Literal, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from retain.domain.messages import DeliveryResult, OutgoingEmail, skipped
from retain.messaging.mime import message_bytes, utc_now

Security = Literal["none", "starttls", "tls"]
_Scope = Literal["message", "connection", "server"]
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
# Unescaped in a user or password, these characters split the URL in the wrong place.
_ENCODE_HINT = " (in a user or password, write @ : / ? # as %40 %3A %2F %3F %23)"


class SmtpUrlError(ValueError):
    """An SMTP URL that cannot be used; the message names the part, never the password."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0  # seconds to wait on the server before calling the connection lost


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://user:pass@host:587?starttls=true`` or ``smtps://user:pass@host`` (TLS from the
    first byte, port 465). User and password are percent-decoded, so ``p%40ss`` is ``p@ss``."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # an unclosed [ around an IPv6 address
        raise SmtpUrlError("host: not a valid host name or address") from None
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps"):
        raise SmtpUrlError("scheme: must be smtp:// or smtps://")
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise SmtpUrlError(f"port: must be a number from 1 to 65535{_ENCODE_HINT}")
    if not parts.hostname:
        raise SmtpUrlError("host: missing")
    if parts.path not in ("", "/") or parts.fragment:
        raise SmtpUrlError(f"path: an SMTP URL has nothing after the host but ?options{_ENCODE_HINT}")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if unknown := set(options) - {"starttls", "timeout"}:
        raise SmtpUrlError(f"{sorted(unknown)[0]}: unknown option (known: starttls, timeout)")
    security: Security = "tls" if scheme == "smtps" else "none"
    if _flag("starttls", options.get("starttls", "false")):
        if scheme == "smtps":
            raise SmtpUrlError("starttls: smtps:// is encrypted from the start; use smtp:// for STARTTLS")
        security = "starttls"
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if (username is None) != (password is None) or username == "":
        raise SmtpUrlError("user: give both a user and a password, or neither")
    if not (username or "").isascii() or not (password or "").isascii():
        # smtplib sends credentials as ASCII; better said now than at the first login.
        raise SmtpUrlError("user: user and password must be ASCII")
    if username is not None and security == "none":
        raise SmtpUrlError("starttls: a password must not cross the network unencrypted; add ?starttls=true")
    default_port = {"tls": 465, "starttls": 587, "none": 25}[security]
    return SmtpServer(
        parts.hostname,
        default_port if port is None else port,
        security,
        username,
        password,
        _timeout(options.get("timeout", "30")),
    )


class SmtpTransport:
    """Sends through one SMTP server, keeping the connection open between messages and calls.

    Not safe to share between threads: each worker opens its own.
    """

    def __init__(
        self,
        server: SmtpServer,
        *,
        ssl_context: ssl.SSLContext | None = None,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.server = server
        # Verifies the server's certificate and host name against the system's CAs.
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._now = now
        self._smtp: smtplib.SMTP | None = None

    def send(self, messages: Iterable[OutgoingEmail]) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        stopped: DeliveryResult | None = None
        for message in messages:
            if reason := message.skip_reason():
                results.append(skipped(message, reason))
            elif stopped is not None:
                results.append(replace(stopped, key=message.key, address=message.to_address, attempts=0))
            else:
                result, stop = self._deliver(message)
                results.append(result)
                stopped = result if stop else None
        return results

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except OSError:  # the server had already gone
                self._smtp.close()
            self._smtp = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _deliver(self, message: OutgoingEmail) -> tuple[DeliveryResult, bool]:
        """The message's result, and whether the rest of the batch should stop untried."""
        data = message_bytes(message, self._now())
        attempt = 1
        while True:
            try:
                self._attempt(message, data)
                return DeliveryResult(message.key, message.to_address, "sent", attempts=attempt), False
            except _Failure as failure:
                final = failure.scope == "message" and failure.code is not None and failure.code >= 500
                if final:
                    return failure.result(message, "permanent_failure", attempt), False
                if failure.scope == "server" or attempt > self._retries:
                    return failure.result(message, "temporary_failure", attempt), failure.scope != "message"
            self._sleep(self._backoff * 2 ** (attempt - 1))
            attempt += 1

    def _attempt(self, message: OutgoingEmail, data: bytes) -> None:
        """One try. Servers close idle connections without notice, so one found closed since
        its last use is reopened at once, without counting as a try."""
        reused = self._smtp is not None and self._smtp.sock is not None
        try:
            self._transmit(message, data)
        except _Failure as failure:
            if not (reused and failure.scope == "connection"):
                raise
            self._transmit(message, data)

    def _transmit(self, message: OutgoingEmail, data: bytes) -> None:
        recipient = message.to_address or ""
        connection = self._connection()
        try:
            connection.sendmail(message.sender.address, [recipient], data)
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = error.recipients[recipient]
            raise _Failure(_text(reply), code, _reply_scope(code, "message")) from error
        except smtplib.SMTPSenderRefused as error:  # refused for good, it is refused for every message
            code = error.smtp_code
            raise _Failure(_text(error.smtp_error), code, _reply_scope(code, "server")) from error
        except smtplib.SMTPResponseException as error:  # the content refused
            code = error.smtp_code
            raise _Failure(_text(error.smtp_error), code, _reply_scope(code, "message")) from error
        except OSError as error:  # the server dropped the connection
            self._drop()
            raise _Failure(_describe(error), None, "connection") from error

    def _connection(self) -> smtplib.SMTP:
        """The open connection, or a new one if there is none (or the server closed it)."""
        if self._smtp is None or self._smtp.sock is None:
            self._drop()
            self._smtp = self._connect()
        return self._smtp

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        smtp: smtplib.SMTP | None = None
        try:
            if server.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    server.host, server.port, timeout=server.timeout, context=self._ssl_context
                )
            else:
                smtp = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
            smtp.ehlo()
            if server.security == "starttls":
                smtp.starttls(context=self._ssl_context)
                smtp.ehlo()
            if server.username is not None and server.password is not None:
                smtp.login(server.username, server.password)
            return smtp
        except smtplib.SMTPResponseException as error:
            _close(smtp)
            scope: _Scope = "connection" if error.smtp_code < 500 else "server"
            raise _Failure(_text(error.smtp_error), error.smtp_code, scope) from error
        except (ssl.SSLError, smtplib.SMTPNotSupportedError) as error:
            _close(smtp)
            raise _Failure(_describe(error), None, "server") from error
        except OSError as error:
            _close(smtp)
            raise _Failure(_describe(error), None, "connection") from error

    def _drop(self) -> None:
        _close(self._smtp)
        self._smtp = None


class _Failure(Exception):
    """One try that failed, and how far the failure reaches (see the module's docstring)."""

    def __init__(self, detail: str, code: int | None, scope: _Scope) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.scope = scope

    def result(
        self, message: OutgoingEmail, status: Literal["temporary_failure", "permanent_failure"], attempts: int
    ) -> DeliveryResult:
        return DeliveryResult(message.key, message.to_address, status, self.detail, self.code, attempts)


def _reply_scope(code: int, refused: _Scope) -> _Scope:
    """421 closes the connection whatever was asked; other 4xx are about this message; a 5xx
    reaches as far as what was ``refused``."""
    if code == 421:
        return "connection"
    return "message" if code < 500 else refused


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _describe(error: OSError) -> str:
    return str(error) or type(error).__name__


def _flag(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise SmtpUrlError(f"{name}: must be true or false, not {value!r}")


def _timeout(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        raise SmtpUrlError(f"timeout: must be a number of seconds above zero, not {value!r}")
    return seconds
