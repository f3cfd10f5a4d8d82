"""Replies by e-mail: only the customer's own words reach the classifier."""

from __future__ import annotations

import pytest

from retain.domain.feedback import FeedbackError
from retain.feedback.inbound import own_words, read_reply

GMAIL = b"""From: Ann Lee <Ann@Example.com>
To: hello@fernwood.example
Subject: Re: Your order is on its way
Message-ID: <abc123@mail.example.com>
Content-Type: text/plain; charset=utf-8

It has been two weeks and the parcel still hasn't arrived.
Where is it?

On Mon, 3 Nov 2026 at 10:02, Fernwood <hello@fernwood.example> wrote:
> Your order #1042 is on its way.
> Track it here.
"""


def test_a_reply_keeps_the_customers_words_and_drops_the_quote() -> None:
    reply = read_reply(GMAIL)
    assert reply.sender == "ann@example.com"
    assert reply.subject == "Re: Your order is on its way"
    assert reply.message_id == "<abc123@mail.example.com>"
    assert reply.text == "It has been two weeks and the parcel still hasn't arrived.\nWhere is it?"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("Thanks!\n-- \nAnn Lee\nCEO", "Thanks!"),
        ("Broken again.\n\n-----Original Message-----\nFrom: shop", "Broken again."),
        ("> quoted first\nMy answer", "My answer"),
        ("Too pricey now.\nSent from my iPhone", "Too pricey now."),
        (
            "Le colis est arrivé cassé.\nLe lun. 3 nov. 2026, Fernwood a écrit :\n> Bonjour",
            "Le colis est arrivé cassé.",
        ),
    ],
)
def test_signatures_and_quotes_of_common_clients_are_cut(body: str, words: str) -> None:
    assert own_words(body) == words


def test_an_html_only_reply_is_read_as_text() -> None:
    raw = (
        b"From: bob@example.com\r\nSubject: Re: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<div>The checkout page <b>crashed</b></div><div>twice</div>"
    )
    assert read_reply(raw).text == "The checkout page crashed\ntwice"


def test_a_reply_without_a_sender_or_words_is_refused() -> None:
    with pytest.raises(FeedbackError, match="no sender"):
        read_reply(b"Subject: hi\r\n\r\nhello")
    with pytest.raises(FeedbackError, match="no text of its own"):
        read_reply(b"From: a@example.com\r\n\r\n> only a quote\r\n")
