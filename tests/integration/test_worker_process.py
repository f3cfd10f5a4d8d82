"""`retain worker` as a real process: it runs rounds until SIGTERM, then stops cleanly."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

from retain.bootstrap import bootstrap
from retain.domain.personalization import Brand
from retain.mailer import save_brand
from retain.runner import install_library


def test_sigterm_finishes_the_round_and_stops(sqlite_url: str, tmp_path: Path) -> None:
    app = bootstrap(sqlite_url)
    install_library(app)
    save_brand(app, Brand("Shop", "Shop", "hello@shop.example", "1 High Street", "https://shop.example"))
    app.close()
    env = {**os.environ, "RETAIN_SECRET_KEY": "a-secret-key-long-enough-to-sign", "RETAIN_SMTP_URL": ""}
    worker = subprocess.Popen(
        [sys.executable, "-c", "from retain.cli import main; main()", "worker", "--interval", "0.2",
         "--outbox", str(tmp_path / "outbox"), "--db", sqlite_url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert worker.stdout is not None
    rounds, deadline = 0, time.monotonic() + 60
    while rounds < 2 and time.monotonic() < deadline:  # wait for two rounds
        ready, _, _ = select.select([worker.stdout], [], [], 1.0)
        if ready:
            line = worker.stdout.readline().decode()
            assert line, "the worker exited early"
            rounds += "entered" in line
    assert rounds == 2
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output.decode()
    assert "Worker stopped after" in output.decode()
