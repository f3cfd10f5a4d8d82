"""The README tells the truth: its make targets exist and its retain commands answer --help."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retain.cli import app

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def test_the_readme_starts_with_the_two_commands() -> None:
    head = README[:1500]
    assert "make demo" in head
    assert "make test" in head


@pytest.mark.parametrize("target", sorted(set(re.findall(r"\bmake ([a-z][\w-]*)", README))))
def test_every_make_command_in_the_readme_is_a_makefile_target(target: str) -> None:
    assert re.search(rf"^{re.escape(target)}:", MAKEFILE, re.MULTILINE), f"Makefile has no target {target!r}"


def _readme_commands() -> list[list[str]]:
    commands = set()
    for line in re.findall(r"^\s*(?:\$ )?retain ([a-z][a-z -]*)", README, re.MULTILINE):
        words = [w for w in line.split() if not w.startswith("-")][:2]
        commands.add(" ".join(words))
    return [c.split() for c in sorted(commands)]


@pytest.mark.parametrize("command", _readme_commands(), ids=" ".join)
def test_every_retain_command_in_the_readme_exists(command: list[str]) -> None:
    # Drop trailing words that are arguments, not subcommands.
    for cut in range(len(command), 0, -1):
        result = CliRunner().invoke(app, [*command[:cut], "--help"])
        if result.exit_code == 0:
            return
    pytest.fail(f"`retain {' '.join(command)}` is not a command")


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
