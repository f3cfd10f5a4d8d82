"""Template parsing, the static check, rendering, escaping and the sandbox."""

from __future__ import annotations

import dataclasses

import pytest

from retain.domain.messages import MessageError
from retain.domain.personalization import CustomerView
from retain.messaging.plaintext import mjml_to_text
from retain.messaging.templating import (
    TemplateError,
    parse_template,
    render,
    sample_context,
)

BODY = """<mj-section>
<mj-column>
<mj-text><p>Hi {{ customer.first_name }},</p></mj-text>
<mj-button href="{{ links.shop }}">Shop</mj-button>
</mj-column>
</mj-section>
"""


def source(body: str = BODY, subject: str = "Hello {{ customer.first_name }}") -> str:
    front = f"subject: {subject}\npreheader: A note from {{{{ store.store_name }}}}\ntopic: offers"
    return f"---\n{front}\n---\n{body}"


def rejected(body: str, subject: str = "Hello") -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        parse_template("winback", source(body, subject))
    return caught.value


def test_a_template_is_parsed_from_its_front_matter_and_body() -> None:
    template = parse_template("winback.mjml", source())

    assert template.name == "winback"
    assert template.subject == "Hello {{ customer.first_name }}"
    assert template.preheader == "A note from {{ store.store_name }}"
    assert template.topic == "offers"
    assert template.body == BODY


def test_a_topic_comment_in_the_front_matter_is_ignored() -> None:
    text = source().replace("topic: offers", "topic: offers   # one of the five")
    assert parse_template("t", text).topic == "offers"


def test_template_error_is_a_message_error_and_names_file_and_line() -> None:
    error = rejected(BODY.replace("customer.first_name", "customer.favourite_colour"))

    assert isinstance(error, MessageError)
    # Front matter is lines 1 to 5; the body's third line is line 8 of the file.
    assert error.line == 8
    assert error.field == "customer.favourite_colour"
    assert str(error) == "winback.mjml line 8: unknown field 'customer.favourite_colour'"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("subject: x\n---\nbody", 1, "must start with"),
        ("---\nsubject: x\npreheader: y\ntopic: offers\n", 1, "not closed"),
        ("---\nsubject: x\npreheader: y\ntopic: offers\n<mj-section/>", 5, "expected 'key: value'"),
        ("---\nsubject: x\ntopic: offers\n---\nbody", 4, "needs a 'preheader'"),
        ("---\nsubject: x\npreheader: y\ntopic: sales\n---\nbody", 4, "topic 'sales'"),
        ("---\nsubject: x\nsender: y\n---\nbody", 3, "unknown front-matter key 'sender'"),
        ("---\nsubject: x\nsubject: y\n---\nbody", 3, "given twice"),
        ("---\nsubject x\n---\nbody", 2, "expected 'key: value'"),
        ("---\nsubject: x\npreheader: y\ntopic: offers\n---\n  \n", 6, "no body"),
    ],
)
def test_front_matter_mistakes_are_reported_with_their_line(text: str, line: int, words: str) -> None:
    with pytest.raises(TemplateError, match=words) as caught:
        parse_template("t", text)
    assert caught.value.line == line


def test_a_syntax_error_is_reported_at_its_line_in_the_file() -> None:
    body = "<mj-section>\n<mj-column>\n<mj-text>{% if customer.known_name %}Hi</mj-text>\n"
    body += "</mj-column>\n</mj-section>\n"
    error = rejected(body)
    assert "end of template" in error.reason or "endif" in error.reason
    assert error.line is not None
    assert error.line >= 8


def test_a_syntax_error_in_an_expression_points_at_its_line() -> None:
    error = rejected(BODY.replace("<mj-button", "{{ customer. }}\n<mj-button"))
    assert error.line == 9


def test_an_unknown_field_in_the_subject_names_the_subject_line() -> None:
    error = rejected(BODY, subject="Hi {{ customer.nickname }}")
    assert (error.line, error.field) == (2, "customer.nickname")


@pytest.mark.parametrize(
    ("expression", "field"),
    [
        ("{{ customr.first_name }}", "customr"),
        ("{{ store.colour }}", "store.colour"),
        ("{{ links.home }}", "links.home"),
        ("{% if last_order %}{{ last_order.date }}{% endif %}", "last_order.date"),
        ("{% if code %}{{ code.percent }}{% endif %}", "code.percent"),
        ("{% if points %}{{ points.level }}{% endif %}", "points.level"),
        ("{% for p in recommended %}{{ p.name }}{% endfor %}", "p.name"),
        (
            "{% if last_order %}{% for p in last_order.products %}{{ p.cost }}{% endfor %}{% endif %}",
            "p.cost",
        ),
        ("{{ recommended[0].sku }}", "recommended[0].sku"),
        ("{{ loop.index }}", "loop"),
        ("{% for p in recommended %}{{ loop.cycle }}{% endfor %}", "loop.cycle"),
        ("{% for p in recommended %}{% endfor %}{{ p.title }}", "p"),
    ],
)
def test_unknown_fields_are_refused_when_the_template_is_saved(expression: str, field: str) -> None:
    error = rejected(BODY.replace("<mj-text>", f"<mj-text>{expression}"))
    assert error.field == field
    assert error.line == 8


def test_known_fields_loops_sets_and_macros_are_accepted() -> None:
    body = BODY.replace(
        "<mj-text>",
        "<mj-text>{% macro price(p) %}{{ p }}{% endmacro %}"
        "{% if recommended %}{% set first = recommended|first %}{{ first.title }}{% endif %}"
        "{% for p in recommended[:2] %}{{ loop.index }}. {{ p.title|upper }} {{ price(p.price) }}"
        "{% if not loop.last %}, {% endif %}{% endfor %}"
        "{% if last_order %}{% for p in last_order.products %}{{ p.category|default('-') }}"
        "{% endfor %}{% endif %}{{ extra.campaign|default('') }}"
        "{% if code and code.expires_on %}{{ code.expires_on|long_date }}{% endif %}",
    )
    template = parse_template("t", source(body))
    html = render(template, sample_context()).html
    assert "1. STONEWARE MUG, SAGE €18.00, 2. SINGLE-ORIGIN BEANS" in html
    assert "30 April 2025" in html


@pytest.mark.parametrize("name", ["safe", "attr", "map", "format", "tojson", "xmlattr", "pprint"])
def test_filters_outside_the_allow_list_are_refused(name: str) -> None:
    error = rejected(BODY.replace("{{ customer.first_name }}", f"{{{{ customer.first_name|{name} }}}}"))
    assert error.reason == f"unknown filter '{name}'"
    assert error.line == 8


def test_an_attribute_argument_to_a_filter_is_refused() -> None:
    error = rejected(
        BODY.replace("{{ customer.first_name }}", "{{ recommended|join(', ', attribute='title') }}")
    )
    assert "attribute=" in error.reason


def test_a_template_that_breaks_for_a_customer_without_an_order_is_refused() -> None:
    error = rejected(BODY.replace("{{ customer.first_name }}", "{{ last_order.number }}"))
    assert "has no attribute 'number'" in error.reason
    assert error.line == 8


def test_printing_a_missing_optional_value_is_refused() -> None:
    body = BODY.replace(
        "{{ customer.first_name }}", "{% if code %}{{ code.code }}{% endif %}{{ links.survey }}"
    )
    template = parse_template("t", source(body))
    context = dataclasses.replace(
        sample_context(), links=dataclasses.replace(sample_context().links, survey=None)
    )
    with pytest.raises(TemplateError, match="missing value") as caught:
        render(template, context)
    assert caught.value.line == 8


def test_mjml_that_does_not_compile_is_refused() -> None:
    error = rejected("<mj-section><mj-column><mj-text>Hi</mj-text>\n")
    assert "MJML does not compile" in error.reason


# --- security ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "{% include '/etc/passwd' %}",
        "{% import 'layout.mjml' as layout %}",
        "{% from 'layout.mjml' import x %}",
        "{% extends 'layout.mjml' %}",
    ],
)
def test_a_template_cannot_read_files(statement: str) -> None:
    error = rejected(BODY.replace("<mj-text>", f"<mj-text>{statement}"))
    assert "cannot include" in error.reason
    assert error.line == 8


def test_mj_include_cannot_read_files_either() -> None:
    error = rejected('<mj-include path="/etc/passwd" />\n' + BODY)
    assert "MJML does not compile" in error.reason


@pytest.mark.parametrize(
    "expression",
    [
        "{{ customer.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ customer['__class__'] }}",
        "{{ store.shop_url.format(customer) }}",
        "{{ store.store_name.upper() }}",
        "{{ range(3) }}",
        "{{ lipsum() }}",
        "{{ cycler }}",
        "{{ namespace }}",
        "{{ self }}",
        "{{ extra.items }}",
    ],
)
def test_a_template_cannot_reach_python(expression: str) -> None:
    error = rejected(BODY.replace("{{ customer.first_name }}", expression))
    assert error.line == 8


def test_autoescaping_cannot_be_switched_off() -> None:
    error = rejected(BODY.replace("<mj-text>", "<mj-text>{% autoescape false %}x{% endautoescape %}"))
    assert "autoescaping" in error.reason


def test_values_are_html_escaped() -> None:
    template = parse_template("t", source())
    customer = CustomerView(first_name="<script>alert(1)</script>", email="a@example.com")
    rendered = render(template, dataclasses.replace(sample_context(), customer=customer))

    assert "<script>" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    # The text part shows the name as written: it is plain text, not HTML.
    assert "Hi <script>alert(1)</script>," in rendered.text


def test_a_first_name_cannot_inject_a_header_through_the_subject() -> None:
    template = parse_template("t", source())
    customer = CustomerView(first_name="Anna\r\nBcc: victim@example.com\n\tX: y", email="a@example.com")
    rendered = render(template, dataclasses.replace(sample_context(), customer=customer))

    assert rendered.subject == "Hello Anna Bcc: victim@example.com X: y"
    assert "\n" not in rendered.subject
    assert "\r" not in rendered.subject


def test_the_subject_is_not_html_escaped() -> None:
    template = parse_template("t", source(subject="News from {{ store.store_name }}"))
    assert render(template, sample_context()).subject == "News from Fern & Kettle"


def test_the_note_is_escaped_and_keeps_its_line_breaks() -> None:
    body = BODY.replace("<p>Hi {{ customer.first_name }},</p>", "{{ note|paragraphs }}")
    template = parse_template("t", source(body))
    context = dataclasses.replace(sample_context(), note="<b>New</b> mugs\nin sage\n\nSee you")
    html = render(template, context).html

    assert "&lt;b&gt;New&lt;/b&gt; mugs<br />\nin sage</p>" in html
    assert ">See you</p>" in html


def test_paragraphs_is_not_available_in_the_subject() -> None:
    error = rejected(BODY, subject="{{ note|paragraphs }}")
    assert error.reason == "unknown filter 'paragraphs'"


# --- plain text -------------------------------------------------------------------------------


def test_the_text_part_follows_the_mjml() -> None:
    mjml = """<mjml><mj-head><mj-title>Title</mj-title><mj-style>a { color: red; }</mj-style></mj-head>
    <mj-body><mj-section><mj-column>
    <mj-image src="https://x.example/a.png" alt="Logo" href="https://x.example" />
    <mj-image src="https://x.example/b.png" alt="Decoration" />
    <mj-text><h1>Hello   &amp;
    welcome</h1><p>Line one<br>line two with <a href="https://x.example/p">a link</a>
    and <a href="https://x.example/q">https://x.example/q</a>.</p>
    <ul><li>First</li><li>Second</li></ul></mj-text>
    <mj-raw><p>hidden</p></mj-raw>
    <mj-divider />
    <mj-button href="https://x.example/go">Go   now</mj-button>
    </mj-column></mj-section></mj-body></mjml>"""

    assert mjml_to_text(mjml) == (
        "[Logo]\n\n"
        "Hello & welcome\n\n"
        "Line one\nline two with a link (https://x.example/p) and https://x.example/q.\n\n"
        "- First\n- Second\n\n"
        "----------------------------------------\n\n"
        "Go now: https://x.example/go\n"
    )
