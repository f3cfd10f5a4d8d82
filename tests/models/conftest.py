"""The CDNOW 1/10 sample, imported once for all model tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from retain.analytics.engine import Analytics
from retain.analytics.models.summary import Summary, calibration_summary
from retain.bootstrap import bootstrap
from retain.ingest.reader import read_orders
from retain.service.imports import import_orders
from tests.conftest import DATA

CALIBRATION_END = date(1997, 9, 30)  # 39 weeks
HOLDOUT_END = date(1998, 6, 30)  # 39 more


@pytest.fixture(scope="session")
def cdnow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Analytics]:
    folder: Path = tmp_path_factory.mktemp("cdnow")
    app = bootstrap(f"sqlite:///{folder / 'cdnow.db'}")
    import_orders(read_orders(DATA / "cdnow" / "CDNOW_sample.txt"), app.unit_of_work())
    yield Analytics.from_store(app.url)
    app.close()


@pytest.fixture(scope="session")
def summary(cdnow: Analytics) -> Summary:
    return calibration_summary(cdnow, CALIBRATION_END, "week")
