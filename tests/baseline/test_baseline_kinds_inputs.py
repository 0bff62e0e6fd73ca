"""Kinds, containers, degenerate columns, and that a reloaded baseline gives identical results."""

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from modelsteward.baseline import Baseline, as_columns, infer_kind
from modelsteward.drift import detect_data_drift, detect_feature_degradation
from modelsteward.errors import ColumnTypeError, EmptyDataError, StewardError


def test_inferred_kinds() -> None:
    assert infer_kind(np.array([1, 2, 3])) == "numeric"
    assert infer_kind(np.array([0, 1, 1, 0])) == "numeric"  # low-cardinality stays numeric
    assert infer_kind(np.array([True, False])) == "categorical"
    assert infer_kind(np.array(["a", "b"])) == "categorical"
    assert infer_kind(np.array([1.5, None, 2], dtype=object)) == "numeric"
    assert infer_kind(np.array([1, "a", None], dtype=object)) == "categorical"  # mixed
    # datetimes are numeric on epoch seconds (see tests/baseline/test_baseline_hostile.py)
    assert infer_kind(np.array(["2024-01-01"], dtype="datetime64[ns]")) == "numeric"


def test_nullable_and_string_dtypes_from_every_container() -> None:
    pdf = pd.DataFrame(
        {
            "i": pd.array([1, None, 3], dtype="Int64"),
            "s": pd.array(["a", None, "b"], dtype="string"),
            "cat": pd.Categorical(["x", "y", None]),
            "b": pd.array([True, None, False], dtype="boolean"),
        }
    )
    for data in (pdf, pl.from_pandas(pdf), pa.Table.from_pandas(pdf, preserve_index=False)):
        b = Baseline.fit(data)
        assert b.kinds == {
            "i": "numeric",
            "s": "categorical",
            "cat": "categorical",
            "b": "categorical",
        }, type(data)
        assert b.columns["i"].n_null == 1 and b.columns["i"].mean == 2.0
        assert b.columns["s"].category_counts == {"a": 1, "b": 1}
        assert b.columns["s"].n_null == 1


def test_integral_float_codes_match_int_codes() -> None:
    b = Baseline.fit({"code": np.array([1, 2, 2, 3])}, kinds={"code": "categorical"})
    res = detect_data_drift(b, {"code": np.array([1.0, 2.0, np.nan, 3.0, 2.0])})
    assert res[0].n_current == 4 and res[0].p_value > 0.5


def test_numeric_baseline_with_strings_in_window_is_typed_error() -> None:
    b = Baseline.fit({"x": np.arange(20.0)})
    with pytest.raises(ColumnTypeError, match="kinds="):
        detect_data_drift(b, {"x": np.array(["1.0", "oops"], dtype=object)})


def test_degenerate_reference_columns_fit() -> None:
    b = Baseline.fit(
        {
            "const": np.full(10, 4.0),
            "allnull": np.full(10, np.nan),
            "single": np.array([np.nan] * 9 + [1.0]),
            "inf": np.array([1.0, np.inf, -np.inf, 2.0]),
        }
    )
    assert b.columns["const"].variance == 0.0 and b.columns["const"].n_distinct == 1
    assert b.columns["allnull"].n_null == 10 and b.columns["allnull"].sorted_values.size == 0
    assert b.columns["inf"].n_inf == 2 and b.columns["inf"].mean == 1.5
    for p in b.columns.values():
        assert np.isfinite([p.mean, p.variance, p.minimum, p.maximum]).all()


def test_empty_data_is_typed_error() -> None:
    with pytest.raises(EmptyDataError):
        Baseline.fit({})
    with pytest.raises(EmptyDataError):
        Baseline.fit({"a": np.array([])})


def test_reloaded_baseline_gives_identical_results(tmp_path) -> None:
    rng = np.random.default_rng(3)
    train = {
        "x": rng.normal(size=20_000),
        "n": rng.poisson(3, 20_000),
        "c": rng.choice(["a", "b", "c"], 20_000),
    }
    window = {
        "x": rng.normal(0.1, 1, 3_000),
        "n": rng.poisson(3.3, 3_000),
        "c": rng.choice(["a", "b", "d"], 3_000),
    }
    b = Baseline.fit(train)
    loaded = Baseline.load(b.save(tmp_path / "bl"))
    assert detect_data_drift(loaded, window) == detect_data_drift(b, window)
    assert detect_feature_degradation(loaded, window) == detect_feature_degradation(b, window)
    assert detect_data_drift(train, window) == detect_data_drift(b, window)


def test_extra_fields_round_trip(tmp_path) -> None:
    b = Baseline.fit({"x": np.arange(5.0)})
    b.columns["x"].extra.update({"sketch": b"\x00\x01", "k": 1024, "arr": np.arange(3)})
    r = Baseline.load(b.save(tmp_path / "e"))
    assert r.columns["x"].extra["sketch"] == b"\x00\x01" and r.columns["x"].extra["k"] == 1024
    np.testing.assert_array_equal(r.columns["x"].extra["arr"], np.arange(3))


def test_as_columns_rejects_two_dimensional_columns() -> None:
    with pytest.raises(StewardError, match="one-dimensional"):
        as_columns({"x": np.zeros((3, 2))})


def test_every_container_gives_the_same_drift_results() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(size=4000)
    x[::17] = np.nan
    train = {"x": rng.normal(size=20_000), "c": rng.choice(["a", "b", "c"], 20_000)}
    window = {"x": x, "c": rng.choice(["a", "b", "c", None], 4000).astype(object)}
    base = Baseline.fit(train)
    expected = detect_data_drift(base, window)
    pdf = pd.DataFrame(window)
    for data in (pdf, pl.from_pandas(pdf), pa.Table.from_pandas(pdf, preserve_index=False)):
        assert detect_data_drift(base, data) == expected, type(data)
        assert detect_feature_degradation(base, data) == detect_feature_degradation(base, window)
    for data in (pd.DataFrame(train), pl.DataFrame(train), pa.table(train)):
        assert detect_data_drift(data, window) == expected, type(data)
