"""What a receiving server gets: multipart/alternative, encoded headers, one-click unsubscribe."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

from retain.domain.messages import Mailbox
from retain.messaging.mime import build_message
from retain.messaging.smtp import SmtpTransport, parse_smtp_url
from tests.messaging.conftest import Server, outgoing

UNSUBSCRIBE = "https://shop.example.com/unsubscribe?token=" + "k7QxM2pd9HtW" * 12  # longer than a line
LINK = "https://shop.example.com/welcome-back?code=K7QX&utm_source=retain&utm_campaign=winback-2025"
NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


def received(server: Server, **changes: object) -> tuple[EmailMessage, bytes]:
    message = outgoing(1, **changes)
    with SmtpTransport(parse_smtp_url(f"smtp://{server.host}:{server.port}"), now=lambda: NOW) as smtp:
        assert smtp.send([message])[0].status == "sent"
    [mail] = server.handler.received
    return mail.parsed(), mail.content


def test_text_and_html_travel_as_multipart_alternative(server: Server) -> None:
    mail, raw = received(
        server,
        text="Grüße aus der Rösterei!\n" + "Ein langer Satz. " * 20 + f"\n{LINK}\n",
        html=f'<p>Grüße aus der Rösterei! {"Ein langer Satz. " * 20}<a href="{LINK}">Zum Shop</a></p>',
    )
    assert mail.get_content_type() == "multipart/alternative"
    text, html = mail.iter_parts()
    assert (text.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    for part in (text, html):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    # Text lines end in CRLF on the wire (MIME's canonical form).
    assert text.get_content().startswith("Grüße aus der Rösterei!\r\nEin langer Satz. Ein")
    assert f"\r\n{LINK}\r\n" in text.get_content()
    assert f'<a href="{LINK}">Zum Shop</a>' in html.get_content()
    # 7-bit on the wire, every line within RFC 5322's 78 characters.
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_headers_name_sender_and_recipient_and_round_trip_non_ascii(server: Server) -> None:
    mail, raw = received(
        server,
        to_name="Zoë Müller-Łukasiewicz",
        sender=Mailbox("shop@example.com", "Café Crème & Co"),
        reply_to=Mailbox("help@example.com", "Kundendienst"),
        subject="Ihre Bestellung über 20 € – danke, Zoë!",
    )
    assert mail["Subject"] == "Ihre Bestellung über 20 € – danke, Zoë!"
    assert mail["From"].addresses[0].display_name == "Café Crème & Co"
    assert mail["From"].addresses[0].addr_spec == "shop@example.com"
    assert mail["To"].addresses[0].display_name == "Zoë Müller-Łukasiewicz"
    assert mail["To"].addresses[0].addr_spec == "customer1@example.com"
    assert str(mail["Reply-To"]) == "Kundendienst <help@example.com>"
    assert b"=?utf-8?" in raw  # names and subject as RFC 2047 encoded words
    assert parsedate_to_datetime(mail["Date"]) == NOW
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.com>", mail["Message-ID"])
    assert mail["MIME-Version"] == "1.0"


def test_one_click_unsubscribe_per_rfc_8058(server: Server) -> None:
    mail, raw = received(
        server, unsubscribe_url=UNSUBSCRIBE, unsubscribe_mailto="mailto:unsubscribe@example.com?subject=1"
    )
    assert mail["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <mailto:unsubscribe@example.com?subject=1>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The URL is written as it is, never as encoded words, which receivers do not decode here.
    assert f"List-Unsubscribe: <{UNSUBSCRIBE}>,\r\n <mailto:".encode() in raw


def test_without_an_https_url_there_is_no_one_click() -> None:
    mailto_only = build_message(outgoing(1, unsubscribe_mailto="mailto:unsubscribe@example.com"), NOW)
    assert mailto_only["List-Unsubscribe"] == "<mailto:unsubscribe@example.com>"
    assert mailto_only["List-Unsubscribe-Post"] is None
    plain = build_message(outgoing(1), NOW)
    assert plain["List-Unsubscribe"] is None


def test_one_key_keeps_one_message_id() -> None:
    first = build_message(outgoing(1), NOW)
    again = build_message(outgoing(1, subject="Changed"), datetime(2026, 1, 1, tzinfo=UTC))
    other = build_message(outgoing(2), NOW)
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
