"""Retain: a self-hosted customer-retention engine for online stores.

From Python (a notebook, say)::

    from datetime import date
    from retain import Analytics, Period, Segmenter, cohort_table, period_metrics

    store = Analytics.from_store("sqlite:///retain.db")
    period_metrics(store, Period(date(2025, 1, 1), date(2025, 12, 31))).retention_rate
    cohort_table(store, "month").cohorts[0].retention
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from retain.analytics.cohorts import cohort_table
    from retain.analytics.engine import Analytics
    from retain.analytics.metrics import period_metrics
    from retain.analytics.segments import Segmenter
    from retain.domain.metrics import Period, PeriodMetrics

__version__ = "0.1.0"

# Loaded on first use: DuckDB and Arrow are heavy, and most imports of retain need neither.
_HOMES = {
    "Analytics": "retain.analytics.engine",
    "Period": "retain.domain.metrics",
    "PeriodMetrics": "retain.domain.metrics",
    "Segmenter": "retain.analytics.segments",
    "cohort_table": "retain.analytics.cohorts",
    "period_metrics": "retain.analytics.metrics",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'retain' has no attribute {name!r}")


__all__ = [
    "Analytics",
    "Period",
    "PeriodMetrics",
    "Segmenter",
    "__version__",
    "cohort_table",
    "period_metrics",
]
