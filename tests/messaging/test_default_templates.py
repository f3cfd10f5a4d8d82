"""Every default template renders well for a customer we know a lot about and one we don't."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from importlib import resources

import pytest

from retain.domain.personalization import MessageContext
from retain.messaging.templating import TOPICS, RenderedEmail, default_templates, render, sample_context

NAMES = sorted(default_templates())
EXPECTED = {
    "thank_you", "tips", "review_request", "survey_invitation", "second_purchase", "we_miss_you",
    "winback_1", "winback_2", "winback_3", "apology", "anniversary", "birthday", "points_update",
    "points_expiring", "tier_upgrade", "referral_invite", "newsletter", "resolved_feedback", "replenishment",
    "feedback_received", "ticket_reply", "csat_survey", "nps_survey",
}  # fmt: skip
CONTEXTS = {"full": sample_context(), "sparse": sample_context(sparse=True)}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture(scope="module", params=[(n, c) for n in NAMES for c in CONTEXTS], ids=lambda p: "-".join(p))
def case(request: pytest.FixtureRequest) -> tuple[MessageContext, RenderedEmail]:
    name, context_name = request.param
    context = CONTEXTS[context_name]
    return context, render(default_templates()[name], context)


def test_every_lifecycle_step_has_a_template() -> None:
    assert set(NAMES) == EXPECTED
    assert all(template.topic in TOPICS for template in default_templates().values())


def test_the_templates_ship_inside_the_package() -> None:
    folder = resources.files("retain.messaging").joinpath("templates")
    shipped = {entry.name for entry in folder.iterdir()}
    assert {"layout.mjml"} | {f"{name}.mjml" for name in EXPECTED} <= shipped


def test_the_html_carries_the_name_links_and_address(case: tuple[MessageContext, RenderedEmail]) -> None:
    context, email = case
    html = email.html

    if context.customer.known_name:
        assert context.customer.first_name in html
    for link in (context.links.unsubscribe, context.links.preferences, context.links.complaint):
        assert f'href="{link}"' in html
    assert context.store.postal_address in html
    assert '<meta name="viewport"' in html
    assert "{{" not in html
    assert "{%" not in html
    assert "None" not in html


def test_every_image_has_alt_text(case: tuple[MessageContext, RenderedEmail]) -> None:
    images = [attrs for tag, attrs in tags(case[1].html) if tag == "img"]
    assert all(attrs.get("alt") is not None for attrs in images)
    if case[0].store.logo_url:
        assert any(attrs.get("alt") == case[0].store.store_name for attrs in images)


def test_the_text_part_is_plain_and_complete(case: tuple[MessageContext, RenderedEmail]) -> None:
    context, email = case
    text = email.text

    if context.customer.known_name:
        assert context.customer.first_name in text
    assert context.links.unsubscribe in text
    assert context.store.postal_address in text
    assert not re.search(r"</?[a-zA-Z][\w-]*[\s>/]", text)
    assert "&amp;" not in text
    assert "{{" not in text
    buttons = [
        attrs["href"] for tag, attrs in tags(email.html) if tag == "a" and "padding:14px 24px" in str(attrs)
    ]
    assert buttons
    for url in buttons:
        assert f": {url}" in text


def test_no_sentence_is_left_with_a_hole(case: tuple[MessageContext, RenderedEmail]) -> None:
    email = case[1]
    for line in [email.subject, *email.text.splitlines()]:
        assert not re.search(r" [:,.!?]|\(\)|  |^[:,.]", line), line
    assert email.subject == email.subject.strip()
    assert "\n" not in email.subject


def test_a_name_we_do_not_know_is_never_used_as_a_name(case: tuple[MessageContext, RenderedEmail]) -> None:
    context, email = case
    if not context.customer.known_name:
        assert ", there" not in email.subject
        assert not re.search(r"(Thank you|birthday|Welcome|for you), there", email.text)


def test_buttons_are_tall_enough_to_tap(case: tuple[MessageContext, RenderedEmail]) -> None:
    anchors = [
        attrs
        for tag, attrs in tags(case[1].html)
        if tag == "a" and "inline-block" in (attrs.get("style") or "")
    ]
    assert anchors
    for attrs in anchors:
        style = dict(part.split(":", 1) for part in (attrs.get("style") or "").split(";") if ":" in part)
        line_height = float(style["line-height"].removesuffix("px"))
        top, *rest = (float(value.removesuffix("px")) for value in style["padding"].split())
        bottom = rest[1] if len(rest) >= 2 else top
        assert line_height + top + bottom >= 44


def test_second_purchase_shows_up_to_three_products_with_price_and_link() -> None:
    context = sample_context()
    email = render(default_templates()["second_purchase"], context)
    for product in context.recommended[:3]:
        assert product.price is not None
        assert product.url is not None
        assert product.title in email.text
        assert product.price in email.text
        assert f"{product.title} ({product.url})" in email.text


@pytest.mark.parametrize("name", ["winback_1", "winback_2", "winback_3", "anniversary", "birthday"])
def test_offers_show_the_code_the_offer_and_the_expiry(name: str) -> None:
    email = render(default_templates()[name], sample_context())
    assert "K7QX-M2PD-9HTW" in email.text
    assert "15% off" in email.text
    assert "30 April 2025" in email.text


def test_review_request_mentions_points_only_when_the_customer_has_them() -> None:
    template = default_templates()["review_request"]
    assert "420 points" in render(template, sample_context()).text
    assert "points" not in render(template, sample_context(sparse=True)).text
