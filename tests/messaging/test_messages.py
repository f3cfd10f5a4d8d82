"""Messages as the business sees them: who may receive one, and what no server should be handed."""

from __future__ import annotations

import pytest

from retain.domain.messages import Mailbox, MessageError, address_problem
from tests.messaging.conftest import outgoing


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("zoe@example.com", None),
        ("first.last+tag@mail.example.co.uk", None),
        (None, "no email address"),
        ("", "no email address"),
        ("   ", "no email address"),
        ("zoé@example.com", "international email addresses are not supported"),
        ("n/a@", "not a valid email address"),
        ("zoe@localhost", "not a valid email address"),
        ("zoe@@example.com", "not a valid email address"),
        ("zoe..x@example.com", "not a valid email address"),
        ("zoe @example.com", "not a valid email address"),
        ("zoe@example.com\r\nBcc: everyone@example.com", "not a valid email address"),
    ],
)
def test_who_can_receive_a_message(address: str | None, problem: str | None) -> None:
    assert address_problem(address) == problem


def test_a_sender_is_read_as_people_write_it() -> None:
    assert Mailbox.parse("Coffee & Co <shop@example.com>") == Mailbox("shop@example.com", "Coffee & Co")
    assert Mailbox.parse("shop@example.com") == Mailbox("shop@example.com")
    assert Mailbox.parse('"Café, Crème" <shop@example.com>') == Mailbox("shop@example.com", "Café, Crème")
    for text in ("", "the shop", "Shop <>"):
        with pytest.raises(MessageError, match=r"^address:"):
            Mailbox.parse(text)


@pytest.mark.parametrize(
    ("changes", "part"),
    [
        ({"key": " "}, "key"),
        ({"subject": "Hello\r\nBcc: everyone@example.com"}, "subject"),
        ({"to_name": "Zoë\nX-Spam: no"}, "to_name"),
        ({"unsubscribe_url": "http://shop.example.com/u"}, "unsubscribe_url"),
        ({"unsubscribe_url": "https://"}, "unsubscribe_url"),
        ({"unsubscribe_url": "https://shop.example.com/u?a=1> <https://evil.example"}, "unsubscribe_url"),
        ({"unsubscribe_url": "https://shop.example.com/" + "u" * 900}, "unsubscribe_url"),
        ({"unsubscribe_mailto": "unsubscribe@example.com"}, "unsubscribe_mailto"),
    ],
)
def test_a_message_no_server_should_get_is_refused_naming_the_part(
    changes: dict[str, object], part: str
) -> None:
    with pytest.raises(MessageError, match=f"^{part}:"):
        outgoing(1, **changes)


def test_a_missing_or_bad_recipient_is_a_reason_to_skip_not_an_error() -> None:
    assert outgoing(1, to_address=None).skip_reason() == "no email address"
    assert outgoing(1, to_address="zoe(at)example.com").skip_reason() == "not a valid email address"
    assert outgoing(1).skip_reason() is None
