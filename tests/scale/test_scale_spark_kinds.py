"""Spark profiles take kinds by the same rule as every other fit path: timestamps, dates and
all-null columns numeric (profiled as epoch seconds), booleans and strings categorical."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pyspark")

from modelsteward.baseline import Baseline  # noqa: E402
from modelsteward.baseline.sketch import NumericSketch  # noqa: E402
from modelsteward.spark import profile_spark, spark_kinds  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    for key in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON"):  # workers import modelsteward
        os.environ.setdefault(key, sys.executable)
    session = (
        SparkSession.builder.master("local[2]").appName("modelsteward-kinds")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g").config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session


def test_spark_kinds_equal_the_pandas_kinds_and_timestamps_profile_as_seconds(
        spark: Any) -> None:
    df = spark.range(50).selectExpr(
        "cast(id as double) as x", "timestamp_seconds(id * 3600) as ts",
        "date_add(date'1970-01-01', cast(id as int)) as day", "null as empty",
        "id % 2 = 0 as flag", "cast(id % 3 as string) as plan",
    )
    expected = {"x": "numeric", "ts": "numeric", "day": "numeric", "empty": "numeric",
                "flag": "categorical", "plan": "categorical"}
    assert spark_kinds(df) == expected
    assert Baseline.fit(df.toPandas(), mode="exact").kinds == expected
    profile = profile_spark(df)
    assert profile.kinds == expected
    ts, day, empty = (profile.columns[c] for c in ("ts", "day", "empty"))
    assert isinstance(ts, NumericSketch) and isinstance(day, NumericSketch)
    assert (ts.minimum, ts.maximum) == (0.0, 49 * 3600.0)
    assert (day.minimum, day.maximum) == (0.0, 49 * 86_400.0)
    assert (empty.n_rows, empty.n_null) == (50, 50)
