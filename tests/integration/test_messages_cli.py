"""``retain messages``: brand, templates, preview, send into the outbox, report."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.integration.conftest import run

BRAND = [
    "messages", "brand", "--store-name", "Fernwood Coffee",
    "--sender", "Fernwood Coffee <hello@fernwood.example>",
    "--postal-address", "12 Mill Lane, Bristol BS1 4DJ", "--shop-url", "https://fernwood.example",
]  # fmt: skip


@pytest.fixture
def store(shop: str) -> str:
    return shop


def test_sending_needs_a_brand_first(cli: CliRunner, store: str) -> None:
    code, output = run(cli, store, "messages", "send", "thank_you", "--customer", "li.wei@example.net")
    assert code == 2
    assert "retain messages brand" in output


def test_a_new_brand_needs_the_essentials(cli: CliRunner, store: str) -> None:
    code, output = run(cli, store, "messages", "brand", "--store-name", "Fernwood")
    assert code == 2
    assert "--sender" in output
    assert "--postal-address" in output


def test_preview_send_and_report(cli: CliRunner, store: str, tmp_path: Path) -> None:
    assert run(cli, store, *BRAND)[0] == 0
    code, output = run(cli, store, "messages", "preview", "thank_you", "--customer", "li.wei@example.net",
                       "--out", str(tmp_path / "p.html"))  # fmt: skip
    assert code == 0, output
    assert "Subject: Thank you for your order, Li" in output
    assert "12 Mill Lane" in (tmp_path / "p.html").read_text(encoding="utf-8")

    people = ["--customer", "li.wei@example.net", "--customer", "john.smith@example.org"]
    code, output = run(cli, store, "messages", "send", "we_miss_you", *people, "--offer", "15%")
    assert code == 0, output
    assert "Sent 1 to the outbox" in output
    assert "skipped 1: unsubscribed" in output
    assert "Issued 1 unique codes" in output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    code, output = run(cli, store, "messages", "report")
    assert code == 0
    assert "we_miss_you" in output


def test_a_broken_template_is_refused_with_its_line(cli: CliRunner, store: str, tmp_path: Path) -> None:
    source = tmp_path / "mine.mjml"
    source.write_text(
        "---\nsubject: Hello\npreheader: Hi\ntopic: offers\n---\n"
        "<mj-section><mj-column>\n<mj-text>{{ customer.favourite_colour }}</mj-text>\n"
        "</mj-column></mj-section>\n",
        encoding="utf-8",
    )
    code, output = run(cli, store, "messages", "save", str(source))
    assert code == 2
    assert "line 7" in output
    assert "customer.favourite_colour" in output
    code, output = run(cli, store, "messages", "templates")
    assert "mine" not in output  # nothing was saved


def test_a_good_template_is_saved_and_used(cli: CliRunner, store: str, tmp_path: Path) -> None:
    assert run(cli, store, *BRAND)[0] == 0
    source = tmp_path / "hello.mjml"
    source.write_text(
        "---\nsubject: Hello {{ customer.first_name }}\npreheader: Hi\ntopic: transactional\n---\n"
        "<mj-section><mj-column><mj-text>Good to see you.</mj-text></mj-column></mj-section>\n",
        encoding="utf-8",
    )
    assert run(cli, store, "messages", "save", str(source))[0] == 0
    code, output = run(cli, store, "messages", "preview", "hello", "--customer", "john.smith@example.org")
    assert code == 0, output
    assert "Subject: Hello John" in output
    assert "Good to see you." in output
