"""One kind rule at fit time: exact, sketch, files and Spark agree on every column,
including the cases where they used to disagree (all-null columns, datetimes, dates)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.baseline import Baseline, infer_kind
from modelsteward.baseline.sketch import SketchProfile
from modelsteward.baseline.streaming import infer_kinds, profile_dataset

N = 50
EXPECTED = {"x": "numeric", "flag": "categorical", "plan": "categorical", "empty": "numeric",
            "when": "numeric", "day": "numeric"}


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "x": rng.normal(size=N),
        "flag": rng.uniform(size=N) < 0.5,
        "plan": rng.choice(["basic", "pro"], N),
        "empty": pd.Series([None] * N, dtype=object),
        "when": pd.date_range("2026-03-01", periods=N, freq="h", tz="UTC"),
        "day": pd.Series(pd.date_range("2026-03-01", periods=N, freq="D").date, dtype=object),
    })


def test_numpy_arrow_and_object_inputs_share_the_rule() -> None:
    assert infer_kind(np.array([None, None], dtype=object)) == "numeric"
    assert infer_kind(np.array([], dtype=object)) == "numeric"
    assert infer_kind(np.array(["2026-03-01"], dtype="datetime64[ns]")) == "numeric"
    assert infer_kind(pa.null()) == infer_kind(np.array([None], dtype=object))
    assert infer_kind(pa.timestamp("us", tz="UTC")) == "numeric"
    assert infer_kind(pa.date32()) == infer_kind(pa.duration("s")) == "numeric"
    assert infer_kind(pa.bool_()) == infer_kind(np.array([True])) == "categorical"
    assert infer_kind(pa.dictionary(pa.int32(), pa.string())) == "categorical"
    assert infer_kind(pa.decimal128(10, 2)) == "numeric"


def test_every_fit_path_gives_the_same_kinds(tmp_path: Path) -> None:
    frame = _frame()
    exact = Baseline.fit(frame, mode="exact")
    sketch = Baseline.fit(frame, mode="sketch")
    from_columns = SketchProfile.from_columns({c: frame[c].to_numpy() for c in frame})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("empty"), "empty",
                             pa.nulls(N))  # Parquet writes an all-null column as type null
    pq.write_table(table, tmp_path / "p.parquet")
    on_file = profile_dataset(tmp_path / "p.parquet")
    file_exact = Baseline.fit(tmp_path / "p.parquet", mode="exact")
    assert exact.kinds == EXPECTED
    assert sketch.kinds == EXPECTED
    assert from_columns.kinds == EXPECTED
    assert infer_kinds(pq.read_schema(tmp_path / "p.parquet")) == EXPECTED
    assert on_file.kinds == EXPECTED
    assert file_exact.kinds == EXPECTED


def test_csv_exact_and_sketch_agree_on_an_empty_column(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("x,empty,when\n" + "".join(
        f"{i}.5,,2026-03-0{1 + i % 9}T10:00:00\n" for i in range(N)))
    exact = Baseline.fit(path, mode="exact")
    sketch = Baseline.fit(path, mode="sketch")
    assert exact.kinds == sketch.kinds == {"x": "numeric", "empty": "numeric", "when": "numeric"}
    assert exact.columns["empty"].n_null == sketch.columns["empty"].n_null == N


def test_sketch_profiles_take_datetimes_as_epoch_seconds() -> None:
    when = pd.date_range("1970-01-01", periods=3, freq="D").to_numpy()
    prof = SketchProfile.from_columns({"when": when})
    col = prof.columns["when"]
    assert col.kind == "numeric"
    assert (col.minimum, col.maximum) == (0.0, 2 * 86_400.0)


def test_spark_types_follow_the_same_rule() -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql import types as st

    from modelsteward.spark import _arrow_type_of

    cases = {
        st.DoubleType(): "numeric", st.LongType(): "numeric", st.DecimalType(10, 2): "numeric",
        st.TimestampType(): "numeric", st.TimestampNTZType(): "numeric",
        st.DateType(): "numeric", st.NullType(): "numeric", st.DayTimeIntervalType(): "numeric",
        st.BooleanType(): "categorical", st.StringType(): "categorical",
        st.BinaryType(): "categorical",
    }
    for spark_type, kind in cases.items():
        assert infer_kind(_arrow_type_of(spark_type)) == kind, spark_type
