"""Inputs that crashed the drift API or answered wrongly (issue 9, item 10)."""

import datetime as dt
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.baseline import Baseline, as_columns
from modelsteward.drift import (
    compute_psi,
    detect_data_drift,
    detect_feature_degradation,
)
from modelsteward.errors import DataError, InvalidParameterError, StewardError
from modelsteward.monitor.concept import detect_concept_drift
from modelsteward.stats import psi, psi_edges, psi_from_counts
from modelsteward.stats.ks import ks_critical_value, ks_pvalue
from modelsteward.stats.sketch_ks import ks_decision

# --- duplicate and colliding column names ---------------------------------------------------


def test_pyarrow_duplicate_column_names_are_named() -> None:
    table = pa.table([pa.array([1.0, 2.0]), pa.array([3.0, 4.0]), pa.array([5.0, 6.0])],
                     names=["x", "y", "x"])
    with pytest.raises(DataError, match=r"duplicate column names: 'x' \(2 times\)"):
        as_columns(table)
    base = Baseline.fit({"x": np.arange(5.0), "y": np.arange(5.0)})
    with pytest.raises(DataError, match="'x'"):
        detect_data_drift(base, table)


def test_pandas_duplicate_and_colliding_names() -> None:
    frame = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "b", "a"])
    with pytest.raises(DataError, match=r"'a' \(2 times\)"):
        as_columns(frame)
    frame = pd.DataFrame([[1.0, 2.0]], columns=[1, "1"])
    with pytest.raises(DataError, match="1 and '1'"):
        as_columns(frame)


def test_dict_keys_that_collide_as_strings() -> None:
    with pytest.raises(DataError, match="1 and '1'"):
        as_columns({1: np.arange(3.0), "1": np.arange(3.0) + 10})
    with pytest.raises(DataError, match="1 and '1'"):
        Baseline.fit({1: np.arange(3.0), "1": np.arange(3.0) + 10})


def test_polars_names_are_checked_too() -> None:
    frame = pl.DataFrame({"a": [1.0], "b": [2.0]})
    assert list(as_columns(frame)) == ["a", "b"]


# --- compute_psi and parameters ---------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.zeros((4, 3)), np.float64(3.0), 3.0, np.zeros((2, 2, 2))])
def test_compute_psi_rejects_non_one_dimensional_input(bad: Any) -> None:
    with pytest.raises(DataError, match="one-dimensional"):
        compute_psi(bad, np.arange(10.0))
    with pytest.raises(DataError, match="one-dimensional"):
        compute_psi(np.arange(10.0), bad)
    with pytest.raises(DataError, match="one-dimensional"):
        psi(bad, np.arange(10.0))


@pytest.mark.parametrize("n_bins", [float("nan"), True, "10", 10**9, 10_001, 0, -3, 10.0, None])
def test_n_bins_is_validated_before_any_work(n_bins: Any) -> None:
    ref = np.arange(100.0)
    for call in (
        lambda: compute_psi(ref, ref, n_bins=n_bins),
        lambda: psi(ref, ref, n_bins=n_bins),
        lambda: psi_edges(ref, n_bins=n_bins),
        lambda: Baseline.fit({"x": ref}, n_bins=n_bins),
    ):
        with pytest.raises(InvalidParameterError, match="n_bins must be an integer in"):
            call()


def test_n_bins_at_the_limit_and_numpy_integers_work() -> None:
    ref = np.arange(100.0)
    assert compute_psi(ref, ref, n_bins=10_000) == pytest.approx(0.0)
    assert compute_psi(ref, ref, n_bins=np.int64(5)) == pytest.approx(0.0)


@pytest.mark.parametrize("eps", [0.0, -1e-4, float("nan"), float("inf"), "1e-4", True])
def test_eps_is_validated(eps: Any) -> None:
    with pytest.raises(InvalidParameterError, match="eps must be"):
        compute_psi(np.arange(10.0), np.arange(10.0), eps=eps)
    with pytest.raises(InvalidParameterError, match="eps must be"):
        psi_from_counts([1, 2], [2, 1], eps=eps)


BAD_P = ["0.05", True, False, 1, 1.0, 0, 0.0, float("nan"), -0.01, 1.5, None, np.bool_(True)]


@pytest.mark.parametrize("p", BAD_P)
def test_one_rule_for_p_threshold_everywhere(p: Any) -> None:
    """A real number strictly between 0 and 1, not a bool or a string: the same for data
    drift, concept drift and the sketch decision (concept drift rejected 1 while data drift
    accepted it; "0.05" and True were accepted)."""
    rng = np.random.default_rng(0)
    base = Baseline.fit({"x": rng.normal(size=200)})
    pred = rng.normal(size=200)
    ts = pd.date_range("2026-01-05", periods=200, freq="h", tz="UTC")
    calls = [
        lambda: detect_data_drift(base, {"x": rng.normal(size=50)}, p_threshold=p),
        lambda: detect_data_drift(base, {"x": rng.normal(size=50)}, p, mode="sketch"),
        lambda: detect_concept_drift(pred, pred, ts, reference_correlation=0.5, p_threshold=p),
        lambda: ks_critical_value(p, 100, 100),
        lambda: ks_decision(0.1, 0.01, 100, 100, p_threshold=p),
    ]
    for call in calls:
        with pytest.raises(InvalidParameterError, match="p_threshold must be a finite real"):
            call()


@pytest.mark.parametrize("p", [0.05, np.float64(0.01), 1e-12, 0.999])
def test_valid_p_thresholds_are_accepted_everywhere(p: Any) -> None:
    rng = np.random.default_rng(0)
    base = Baseline.fit({"x": rng.normal(size=200)})
    (r,) = detect_data_drift(base, {"x": rng.normal(size=50)}, p_threshold=p)
    assert r.p_threshold == float(p)
    assert 0 < ks_critical_value(p, 100, 100) < 1


def test_invalid_parameter_error_is_one_type() -> None:
    assert issubclass(InvalidParameterError, StewardError)
    assert issubclass(InvalidParameterError, ValueError)
    base = Baseline.fit({"x": np.arange(100.0)})
    cur = {"x": np.arange(100.0)}
    for call in (
        lambda: detect_data_drift(base, cur, mode="fast"),
        lambda: detect_data_drift(base, cur, min_effect=float("nan")),
        lambda: detect_data_drift(base, cur, exact_max_rows=-1),
        lambda: detect_feature_degradation(base, cur, null_rate_threshold="0.1"),
        lambda: detect_feature_degradation(base, cur, out_of_range_threshold=2.0),
        lambda: detect_feature_degradation(base, cur, variance_ratio_threshold=float("inf")),
        lambda: detect_concept_drift(np.zeros(10), np.zeros(10), None, window=5,
                                     reference_correlation=0.5, min_samples=3),
        lambda: detect_concept_drift(np.zeros(10), np.zeros(10), None, window=5,
                                     reference_correlation=0.5, min_drop=float("nan")),
        lambda: Baseline.fit({"x": np.arange(10.0)}, sketch_k=4),
        lambda: Baseline.fit({"x": np.arange(10.0)}, kinds=["x"]),
        lambda: ks_pvalue(0.5, 0, 10),
        lambda: ks_pvalue(float("nan"), 10, 10),
    ):
        with pytest.raises(InvalidParameterError):
            call()


# --- datetimes: numeric on UTC epoch seconds, whatever the time zone ------------------------


def _hours(start: str, n: int, tz: str | None) -> pd.Series:
    return pd.Series(pd.date_range(start, periods=n, freq="h", tz=tz))


def test_non_overlapping_aware_time_ranges_are_drifted() -> None:
    ref = pd.DataFrame({"t": _hours("2026-01-01", 500, "UTC")})
    cur = pd.DataFrame({"t": _hours("2026-06-01", 500, "Asia/Tokyo")})
    (r,) = detect_data_drift(ref, cur)
    assert r.kind == "numeric" and r.test == "ks"
    assert r.is_drifted and r.statistic == 1.0 and r.p_value < 1e-100


@pytest.mark.filterwarnings(  # pyarrow / polars call Series.values internally (pandas 3.1)
    "ignore:Series.values returning an ndarray that drops timezone:DeprecationWarning")
def test_the_same_instants_in_any_zone_or_naive_are_the_same() -> None:
    utc = _hours("2026-01-01", 400, "UTC")
    base = Baseline.fit({"t": utc})
    assert base.kinds == {"t": "numeric"}
    assert base.columns["t"].minimum == pd.Timestamp("2026-01-01", tz="UTC").timestamp()
    same = [
        {"t": utc.dt.tz_convert("America/New_York")},
        pd.DataFrame({"t": utc.dt.tz_convert("Asia/Kolkata")}),
        {"t": utc.dt.tz_convert(None).to_numpy()},  # naive datetime64 = UTC
        {"t": np.array(utc.dt.tz_convert(None).to_numpy(), dtype="datetime64[s]")},
        {"t": np.array(list(utc.dt.tz_convert("Europe/Paris")), dtype=object)},
        {"t": np.array([t.to_pydatetime() for t in utc], dtype=object)},
        pa.table({"t": pa.array(utc.dt.tz_convert("Europe/Paris"))}),
        pl.DataFrame({"t": utc.dt.tz_convert(None)}).with_columns(
            pl.col("t").dt.replace_time_zone("UTC").dt.convert_time_zone("Asia/Tokyo")
        ),
    ]
    for window in same:
        (r,) = detect_data_drift(base, window)
        assert r.statistic == 0.0 and r.p_value == 1.0 and r.psi == pytest.approx(0.0), window


def test_datetimes_with_nulls_and_dates() -> None:
    values = np.array(["2026-01-01", "NaT", "2026-01-03"], dtype="datetime64[D]")
    col = as_columns({"d": values})["d"]
    assert col.dtype == np.float64 and math.isnan(col[1]) and col[2] - col[0] == 2 * 86_400
    dates = np.array([dt.date(2026, 1, 1), None, dt.date(2026, 1, 3)], dtype=object)
    np.testing.assert_array_equal(as_columns({"d": dates})["d"], col)
    deltas = as_columns({"d": np.array([1, 2], dtype="timedelta64[m]")})["d"]
    assert deltas.tolist() == [60.0, 120.0]


def test_datetimes_mixed_with_strings_are_an_error_not_categories() -> None:
    mixed = np.array([pd.Timestamp("2026-01-01", tz="UTC"), "soon"] * 5, dtype=object)
    with pytest.raises(StewardError, match="datetimes mixed"):
        Baseline.fit({"t": mixed})


def test_compute_psi_on_datetimes() -> None:
    a = _hours("2026-01-01", 500, "UTC").to_numpy()
    b = _hours("2027-01-01", 500, None).to_numpy()
    assert compute_psi(a, b) > 1.0
    assert compute_psi(a, a) == pytest.approx(0.0)
    tokyo = _hours("2026-01-01", 500, "UTC").dt.tz_convert("Asia/Tokyo").to_numpy()
    assert compute_psi(a, tokyo) == pytest.approx(0.0)  # the same instants, not new labels


@pytest.mark.filterwarnings(  # pyarrow / polars call Series.values internally (pandas 3.1)
    "ignore:Series.values returning an ndarray that drops timezone:DeprecationWarning")
def test_parquet_timestamps_are_numeric_in_sketch_and_exact_mode(tmp_path: Path) -> None:
    ref = pa.table({"t": pa.array(_hours("2026-01-01", 1_000, "UTC"))})
    cur = pa.table({"t": pa.array(_hours("2026-09-01", 1_000, "Asia/Tokyo"))})
    pq.write_table(ref, tmp_path / "ref.parquet")
    pq.write_table(cur, tmp_path / "cur.parquet")
    for mode in ("exact", "sketch"):
        base = Baseline.fit(tmp_path / "ref.parquet", mode=mode)
        assert base.kinds == {"t": "numeric"}
        (r,) = detect_data_drift(base, tmp_path / "cur.parquet", mode=mode)
        assert r.is_drifted and r.mode == mode


def test_more_entry_points_validate_their_inputs() -> None:
    from modelsteward.drift import expected_distinct
    from modelsteward.stats import ks_2samp_sorted
    from modelsteward.stats.psi import one_sided_psi

    with pytest.raises(InvalidParameterError, match="eps"):
        one_sided_psi(np.array([3, 4]), eps=float("nan"))
    with pytest.raises(InvalidParameterError, match="m must be an integer"):
        expected_distinct(np.array([1, 2, 3]), float("nan"))
    # unsorted in the middle only: the old check compared the two ends
    with pytest.raises(DataError, match="not sorted"):
        ks_2samp_sorted(np.array([0.0, 5.0, 1.0, 9.0]), np.array([1.0, 2.0]))


def test_odd_containers_and_values_are_steward_errors() -> None:
    """Found beyond the issue: each of these gave a raw numpy/pandas/Python error or a silently
    wrong answer (2-D predictions were flattened, pairing the wrong values)."""
    base = Baseline.fit({"x": np.arange(100.0)})
    ts = None
    calls = {
        "ragged": (lambda: as_columns({"a": [[1, 2], [3]]}), DataError),
        "structured": (lambda: Baseline.fit({"x": np.zeros(3, dtype=[("a", float)])}), DataError),
        "complex": (lambda: detect_data_drift(base, {"x": np.array([1 + 2j, 3j])}), DataError),
        "huge int": (
            lambda: detect_data_drift(base, {"x": np.array([10**400, 1], dtype=object)}),
            DataError,
        ),
        "metadata": (
            lambda: Baseline.fit({"a": [1.0, 2.0]}, metadata=[1, 2]),
            InvalidParameterError,
        ),
        "2-D predictions": (
            lambda: detect_concept_drift(np.zeros((10, 2)), np.zeros((10, 2)), ts, window=5,
                                         reference_correlation=0.5),
            DataError,
        ),
        "bool correlation": (
            lambda: detect_concept_drift(np.zeros(10), np.zeros(10), ts, window=5,
                                         reference_correlation=True),
            InvalidParameterError,
        ),
        "str correlation": (
            lambda: detect_concept_drift(np.zeros(10), np.zeros(10), ts, window=5,
                                         reference_correlation="0.5"),
            InvalidParameterError,
        ),
    }
    for name, (call, error) in calls.items():
        with pytest.raises(error):
            call()
            pytest.fail(name)


def test_sketch_ks_entry_points() -> None:
    from modelsteward.stats.ks import ks_pvalue_asymptotic

    with pytest.raises(InvalidParameterError, match="d must be a finite real"):
        ks_pvalue_asymptotic(float("nan"), 10, 10)  # gave p = nan
    with pytest.raises(InvalidParameterError, match="n_ref"):
        ks_decision(0.1, 0.0, -5, 10)
    assert ks_decision(0.0, 0.0, 0, 0).is_significant is False  # was ZeroDivisionError
