from __future__ import annotations

import retain


def test_the_public_api_is_exactly_what_is_documented() -> None:
    assert sorted(retain.__all__) == sorted(
        ["Analytics", "Period", "PeriodMetrics", "Segmenter", "__version__", "cohort_table", "period_metrics"]
    )
    assert retain.__version__ == "0.1.0"
    for name in retain.__all__:
        assert getattr(retain, name) is not None
