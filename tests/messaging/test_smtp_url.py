"""RETAIN_SMTP_URL: read, percent-decoded, and refused naming the part at fault, never the password."""

from __future__ import annotations

import pytest

from retain.messaging.smtp import SmtpServer, SmtpUrlError, parse_smtp_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://localhost", SmtpServer("localhost", 25, "none")),
        ("smtp://mail.example.com:2525", SmtpServer("mail.example.com", 2525, "none")),
        (
            "smtp://user:p%40ss%3Aw%2Frd@mail.example.com:587?starttls=true",
            SmtpServer("mail.example.com", 587, "starttls", "user", "p@ss:w/rd"),
        ),
        (
            "smtp://u%2Bshop:pw@mail.example.com?starttls=1",
            SmtpServer("mail.example.com", 587, "starttls", "u+shop", "pw"),
        ),
        ("SMTPS://u:pw@mail.example.com", SmtpServer("mail.example.com", 465, "tls", "u", "pw")),
        ("smtps://[::1]:4650?timeout=2.5", SmtpServer("::1", 4650, "tls", timeout=2.5)),
    ],
)
def test_urls_are_read(url: str, expected: SmtpServer) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("http://mail.example.com", "scheme"),
        ("mail.example.com:587", "scheme"),
        ("smtp://:587", "host"),
        ("smtp://[::1", "host"),
        ("smtp://mail.example.com:none", "port"),
        ("smtp://mail.example.com:70000", "port"),
        ("smtp://user:se#cret@mail.example.com?starttls=true", "port"),
        ("smtp://mail.example.com/inbox", "path"),
        ("smtp://mail.example.com?tls=true", "tls"),
        ("smtp://mail.example.com?starttls=maybe", "starttls"),
        ("smtps://mail.example.com?starttls=true", "starttls"),
        ("smtp://user:secret@mail.example.com", "starttls"),
        ("smtp://user@mail.example.com?starttls=true", "user"),
        ("smtp://:secret@mail.example.com?starttls=true", "user"),
        ("smtp://user:s%C3%A9cret@mail.example.com?starttls=true", "user"),
        ("smtp://mail.example.com?timeout=0", "timeout"),
        ("smtp://mail.example.com?timeout=soon", "timeout"),
    ],
)
def test_a_bad_url_is_refused_naming_the_part(url: str, part: str) -> None:
    with pytest.raises(SmtpUrlError, match=f"^{part}:") as refused:
        parse_smtp_url(url)
    assert "secret" not in str(refused.value)
    assert "cret" not in str(refused.value)


def test_the_password_stays_out_of_the_repr() -> None:
    assert "secret" not in repr(parse_smtp_url("smtps://user:secret@mail.example.com"))
