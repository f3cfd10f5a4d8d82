"""The analytics are one SQL definition each; sqlglot turns them into Spark SQL."""

from __future__ import annotations

import pytest
import sqlglot

from retain.analytics.cohorts import COHORT_SQL, LATEST_SQL
from retain.analytics.engine import to_dialect
from retain.analytics.metrics import GAPS_SQL, PERIOD_SQL
from retain.analytics.segments import FEATURES_SQL, SUMMARY_SQL


@pytest.mark.parametrize(
    "sql",
    [PERIOD_SQL, GAPS_SQL, COHORT_SQL, LATEST_SQL, FEATURES_SQL, SUMMARY_SQL.format(column="rfm_segment")],
    ids=["period", "gaps", "cohorts", "latest", "features", "summary"],
)
def test_every_query_transpiles_to_spark_sql(sql: str) -> None:
    spark = to_dialect(sql, "spark")
    parsed = sqlglot.parse(spark, read="spark")  # raises if the Spark text is not Spark SQL
    assert parsed
    assert all(statement is not None for statement in parsed)
