"""Baseline fitting, kinds and the JSON + .npy round trip."""

import json

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from modelsteward.baseline import Baseline, as_columns
from modelsteward.errors import BaselineError, BaselineFormatError, UnsupportedInputError


def _data(n: int = 500) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    x[::50] = np.nan
    return {"x": x, "k": rng.integers(0, 3, n), "c": rng.choice(["a", "b", "c"], n)}


def test_fit_infers_kinds_and_counts() -> None:
    b = Baseline.fit(_data())
    assert b.feature_names == ["x", "k", "c"]
    assert b.kinds == {"x": "numeric", "k": "numeric", "c": "categorical"}
    x = b.columns["x"]
    assert x.n_rows == 500 and x.n_null == 10
    assert x.sorted_values is not None and np.all(np.diff(x.sorted_values) >= 0)
    assert x.mean == pytest.approx(np.nanmean(_data()["x"]))
    assert x.variance == pytest.approx(np.nanvar(_data()["x"]))
    assert sum(b.columns["c"].category_counts.values()) == 500


def test_kinds_override_and_validation() -> None:
    b = Baseline.fit(_data(), kinds={"k": "categorical"})
    assert b.columns["k"].kind == "categorical"
    assert set(b.columns["k"].category_counts) == {"0", "1", "2"}
    with pytest.raises(BaselineError, match="not in the data"):
        Baseline.fit(_data(), kinds={"nope": "numeric"})
    with pytest.raises(BaselineError, match="'numeric' or 'categorical'"):
        Baseline.fit(_data(), kinds={"k": "ordinal"})


def test_save_load_round_trip_is_identical(tmp_path) -> None:
    b = Baseline.fit(_data(), predictions=np.linspace(0, 1, 40), outcomes=np.r_[[0] * 20, [1] * 20])
    b.metadata["model"] = "churn"
    b.save(tmp_path / "b")
    doc = json.loads((tmp_path / "b" / "baseline.json").read_text())
    assert doc["format_version"] == 1
    assert not list((tmp_path / "b").glob("*.pkl"))
    r = Baseline.load(tmp_path / "b")
    assert r.feature_names == b.feature_names and r.metadata == {"model": "churn"}
    assert r.concept == b.concept
    for name in b.feature_names:
        assert r.columns[name].to_dict() == b.columns[name].to_dict()
    np.testing.assert_array_equal(r.columns["x"].sorted_values, b.columns["x"].sorted_values)


def test_load_rejects_missing_and_unknown_version(tmp_path) -> None:
    with pytest.raises(BaselineFormatError, match="no baseline.json"):
        Baseline.load(tmp_path)
    Baseline.fit(_data()).save(tmp_path / "b")
    path = tmp_path / "b" / "baseline.json"
    doc = json.loads(path.read_text())
    doc["format_version"] = 99
    path.write_text(json.dumps(doc))
    with pytest.raises(BaselineFormatError, match="format version 99"):
        Baseline.load(tmp_path / "b")


def test_as_columns_reads_every_container() -> None:
    d = {"x": np.array([1.0, np.nan, 3.0]), "s": np.array(["a", None, "b"], dtype=object)}
    frames = [d, pd.DataFrame(d), pl.DataFrame(d), pa.table(d)]
    for f in frames:
        cols = as_columns(f)
        assert list(cols) == ["x", "s"]
        assert np.isnan(cols["x"][1]) and cols["x"][2] == 3.0
        assert cols["s"][1] is None and cols["s"][0] == "a"
    with pytest.raises(UnsupportedInputError):
        as_columns([1, 2, 3])
