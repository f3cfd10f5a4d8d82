"""A real browser on a real server: Debian's Chromium driven by Playwright, against the
workspace served by uvicorn on a loopback port, on a small demo store.

Every page a test opens is watched: a console error, a failed request or an answer of 400
or more fails the test (an expected refusal is declared with ``page_errors.allow``).
Screenshots go to ``build/screenshots`` (or ``$RETAIN_SCREENSHOTS``), each named after
the test and the width it was taken at.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from retain.bootstrap import App, bootstrap
from retain.cli import app as cli_app
from retain.config import Settings
from retain.web.app import create_app

CHROMIUM = Path(os.environ.get("RETAIN_CHROMIUM", "/usr/bin/chromium"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("RETAIN_SCREENSHOTS", Path(__file__).parents[2] / "build" / "screenshots"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
PASSWORD_LINE = re.compile(r"with the password\s+(\S+)")


@dataclass
class Live:
    """The served store: its address, the app behind it, and the owner's credentials."""

    url: str
    app: App
    settings: Settings
    email: str
    password: str


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (.ci/run installs Debian's chromium package)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """``retain demo --no-serve`` on a small store, then the workspace on a free port."""
    folder = tmp_path_factory.mktemp("browser-store")
    url = f"sqlite:///{folder / 'demo.db'}"
    made = CliRunner().invoke(
        cli_app, ["demo", "--no-serve", "--customers", "300", "--out", str(folder / "store"), "--db", url]
    )
    assert made.exit_code == 0, made.output
    found = PASSWORD_LINE.search(" ".join(made.output.split()))
    assert found, made.output
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=url, public_url=base)
    app = bootstrap(url)
    server = uvicorn.Server(uvicorn.Config(create_app(app, settings), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Live(base, app, settings, "owner@fernwood.example", found.group(1))
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()
    app.close()


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[object]:
    """Module-scoped: Playwright's synchronous API keeps an event loop running in this
    thread while it lives, which later tests' ``asyncio.run`` must not find."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), args=FLAGS)
        yield launched
        launched.close()


@dataclass
class PageErrors:
    """What went wrong on the pages of one test: console errors, failed requests, 4xx/5xx."""

    seen: list[str] = field(default_factory=list)
    allowed: set[str] = field(default_factory=set)

    def allow(self, path_part: str) -> None:
        """An answer of 400 or more expected for URLs containing ``path_part``."""
        self.allowed.add(path_part)

    def console(self, message: Any) -> None:
        if message.type != "error":
            return
        # Chromium also logs each failed load; an allowed one is not an error.
        if message.text.startswith("Failed to load resource") and self._allowed(
            message.location.get("url", "")
        ):
            return
        self.seen.append(f"console: {message.text}")

    def _allowed(self, url: str) -> bool:
        return any(part in url for part in self.allowed)

    def response(self, status: int, url: str) -> None:
        if status >= 400 and not self._allowed(url):
            self.seen.append(f"HTTP {status} {url}")


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    folder = SCREENSHOTS / request.node.name.replace("[", "-").replace("]", "")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def context(browser: object, page_errors: PageErrors) -> Iterator[object]:
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[attr-defined]
    context.on("console", page_errors.console)
    context.on("weberror", lambda e: page_errors.seen.append(f"page error: {e.error}"))
    context.on("requestfailed", lambda r: page_errors.seen.append(f"failed: {r.url} {r.failure}"))
    context.on("response", lambda r: page_errors.response(r.status, r.url))
    yield context
    context.close()
    assert page_errors.seen == [], page_errors.seen
