"""Concept drift: Fisher z against hand-computed values, windows, late labels, rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsteward.drift.concept import ConceptDriftResult
from modelsteward.errors import ConfigError, DataError, StewardError
from modelsteward.monitor.concept import detect_concept_drift
from modelsteward.monitor.windows import parse_window, split_windows


def _correlated(rng: np.random.Generator, n: int, r: float) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=n)
    y = r * x + math.sqrt(1 - r * r) * rng.normal(size=n)
    return x, y


def _weekly(n_weeks: int, per_week: int, start: str = "2026-01-05") -> pd.DatetimeIndex:
    step = pd.Timedelta(days=7) / per_week
    return pd.DatetimeIndex(
        [pd.Timestamp(start, tz="UTC") + i * step for i in range(n_weeks * per_week)]
    )


def _exact_r(n: int, r: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A sample whose Pearson correlation is exactly r (Gram-Schmidt on a random pair)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x = (x - x.mean()) / x.std()
    e = rng.normal(size=n)
    e = e - e.mean()
    e = e - (e @ x) / (x @ x) * x
    e = e / e.std()
    return x, r * x + math.sqrt(1 - r * r) * e


def test_fisher_z_matches_hand_computed_value_with_reference_size() -> None:
    # z = (atanh .6 - atanh .4) / sqrt(1/997 + 1/197) = 3.45648, one-sided p = 2.7364e-4
    pred, out = _exact_r(200, 0.4, seed=1)
    ts = pd.date_range("2026-01-05", periods=200, freq="10min", tz="UTC")
    (res,) = detect_concept_drift(pred, out, ts, reference_correlation=0.6, reference_n=1000)
    assert res.correlation == pytest.approx(0.4, abs=1e-12)
    assert res.p_value == pytest.approx(2.7363643e-4, rel=1e-5)
    assert res.drop == pytest.approx(0.2)
    assert res.is_drifted and res.status == "drifted"


def test_fisher_z_with_exact_reference_uses_window_error_only() -> None:
    # z = (atanh .5 - atanh .3) * sqrt(100 - 3) = 2.36162, p = 0.0090976
    pred, out = _exact_r(100, 0.3, seed=2)
    ts = pd.date_range("2026-01-05", periods=100, freq="h", tz="UTC")
    (res,) = detect_concept_drift(pred, out, ts, reference_correlation=0.5)
    assert res.p_value == pytest.approx(0.0090976, rel=1e-4)
    assert res.reference_n is None
    assert res.is_drifted  # p < 0.01 and drop 0.2 >= 0.1


def test_significant_but_small_drop_is_not_drift() -> None:
    pred, out = _exact_r(20_000, 0.55, seed=3)
    ts = pd.date_range("2026-01-05", periods=20_000, freq="20s", tz="UTC")
    (res,) = detect_concept_drift(pred, out, ts, reference_correlation=0.6, reference_n=20_000)
    assert res.p_value is not None and res.p_value < 1e-6
    assert res.drop == pytest.approx(0.05)
    assert not res.is_drifted and res.status == "ok"


def test_reference_from_predictions_and_outcomes() -> None:
    rng = np.random.default_rng(4)
    rp, ro = _correlated(rng, 2_000, 0.6)
    pred, out = _correlated(rng, 500, 0.6)
    ts = pd.date_range("2026-01-05", periods=500, freq="5min", tz="UTC")
    res = detect_concept_drift(
        pred, out, ts, reference_predictions=rp, reference_outcomes=ro, window="1D"
    )
    assert all(r.reference_correlation == pytest.approx(np.corrcoef(rp, ro)[0, 1]) for r in res)
    assert all(r.reference_n == 2_000 for r in res)


def test_baseline_concept_reference_object_is_accepted() -> None:
    class Ref:
        correlation = 0.6
        n = 1000
        task = "numeric"

    pred, out = _exact_r(200, 0.4, seed=1)
    ts = pd.date_range("2026-01-05", periods=200, freq="10min", tz="UTC")
    (res,) = detect_concept_drift(pred, out, ts, reference_correlation=Ref())
    assert res.reference_n == 1000
    assert res.p_value == pytest.approx(2.7363643e-4, rel=1e-5)


def test_change_point_no_alert_before_alert_after() -> None:
    rng = np.random.default_rng(5)
    weeks, per = 12, 400
    ts = _weekly(weeks, per)
    pred, out = _correlated(rng, weeks * per, 0.6)
    change = 7 * per
    _, out_late = _correlated(rng, weeks * per - change, 0.2)
    out[change:] = pred[change:] * 0.2 + math.sqrt(1 - 0.04) * rng.normal(size=weeks * per - change)
    del out_late
    res = detect_concept_drift(pred, out, ts, reference_correlation=0.6, reference_n=2_000)
    assert len(res) == weeks
    assert [r.is_drifted for r in res] == [False] * 7 + [True] * 5
    assert [r.window_start for r in res] == sorted(r.window_start for r in res)  # time order


def test_false_positive_rate_under_no_drift_and_power_under_a_real_drop() -> None:
    rng = np.random.default_rng(6)
    n_windows, per = 400, 300
    ts = _weekly(n_windows, per, start="2020-01-06")
    pred, out = _correlated(rng, n_windows * per, 0.6)
    res = detect_concept_drift(pred, out, ts, reference_correlation=0.6, reference_n=5_000)
    p_rejections = np.mean([r.p_value is not None and r.p_value < 0.01 for r in res])
    alerts = np.mean([r.is_drifted for r in res])
    assert p_rejections <= 0.03  # the test's own level is about 1 %
    assert alerts <= 0.01
    pred2, out2 = _correlated(rng, n_windows * per, 0.35)
    res2 = detect_concept_drift(pred2, out2, ts, reference_correlation=0.6, reference_n=5_000)
    power = np.mean([r.is_drifted for r in res2])
    assert power >= 0.95


def test_late_labels_lower_coverage_and_are_left_out() -> None:
    rng = np.random.default_rng(7)
    ts = _weekly(3, 200)
    pred, out = _correlated(rng, 600, 0.6)
    out[400:] = np.nan  # week 3: no label yet
    out[200:300] = np.nan  # week 2: half the labels
    res = detect_concept_drift(pred, out, ts, reference_correlation=0.6)
    assert [r.n for r in res] == [200, 100, 0]
    assert [r.coverage for r in res] == [1.0, 0.5, 0.0]
    assert [r.n_predictions for r in res] == [200, 200, 200]
    assert res[2].status == "insufficient_data" and res[2].correlation is None
    assert res[2].p_value is None and not res[2].is_drifted
    assert res[1].correlation == pytest.approx(np.corrcoef(pred[300:400], out[300:400])[0, 1])


def test_under_min_samples_says_insufficient_data_instead_of_alerting() -> None:
    rng = np.random.default_rng(8)
    pred = rng.normal(size=20)
    out = rng.normal(size=20)  # no relation at all, but too few rows to say so
    ts = pd.date_range("2026-01-05", periods=20, freq="h", tz="UTC")
    (res,) = detect_concept_drift(pred, out, ts, reference_correlation=0.9, min_samples=30)
    assert res.status == "insufficient_data"
    assert not res.is_drifted
    assert "min_samples=30" in res.reason


def test_constant_predictions_give_defined_result_without_nan() -> None:
    ts = pd.date_range("2026-01-05", periods=100, freq="h", tz="UTC")
    (res,) = detect_concept_drift(np.ones(100), np.arange(100.0), ts, reference_correlation=0.5)
    assert res.status == "insufficient_data" and res.correlation is None
    d = res.to_dict()
    assert not any(isinstance(v, float) and math.isnan(v) for v in d.values())


def test_binary_performance_is_pooled_not_averaged() -> None:
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(9)
    n = 1_000
    y = rng.integers(0, 2, size=n).astype(float)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, size=n), 0, 1)
    y[::7] = np.nan
    ts = _weekly(1, n)
    (res,) = detect_concept_drift(p, y, ts, reference_correlation=0.5, window="W")
    keep = ~np.isnan(y)
    assert res.task == "binary"
    assert res.performance["roc_auc"] == pytest.approx(roc_auc_score(y[keep], p[keep]))
    assert res.performance["f1"] == pytest.approx(f1_score(y[keep], p[keep] >= 0.5))


def test_numeric_performance_mae_rmse() -> None:
    rng = np.random.default_rng(10)
    pred, out = _correlated(rng, 300, 0.7)
    ts = pd.date_range("2026-01-05", periods=300, freq="10min", tz="UTC")
    (res,) = detect_concept_drift(pred, out, ts, reference_correlation=0.7)
    assert res.task == "regression"
    assert res.performance["mae"] == pytest.approx(np.abs(pred - out).mean())
    assert res.performance["rmse"] == pytest.approx(np.sqrt(((pred - out) ** 2).mean()))


def test_row_count_windows() -> None:
    rng = np.random.default_rng(11)
    pred, out = _correlated(rng, 1_050, 0.6)
    res = detect_concept_drift(pred, out, None, reference_correlation=0.6, window=500)
    assert [r.n_predictions for r in res] == [500, 500, 50]
    assert res[2].status == "insufficient_data" or res[2].n >= 30


def test_errors_are_typed_and_name_the_fix() -> None:
    ts = pd.date_range("2026-01-05", periods=10, freq="h", tz="UTC")
    with pytest.raises(ConfigError, match="reference_correlation"):
        detect_concept_drift(np.zeros(10), np.zeros(10), ts)
    with pytest.raises(DataError, match="must align"):
        detect_concept_drift(np.zeros(10), np.zeros(9), ts, reference_correlation=0.5)
    with pytest.raises(ConfigError, match="window"):
        detect_concept_drift(
            np.zeros(10), np.zeros(10), ts, reference_correlation=0.5, window="fortnight"
        )
    with pytest.raises(StewardError):
        detect_concept_drift(["a"] * 10, np.zeros(10), ts, reference_correlation=0.5)


# --- window edges ---------------------------------------------------------------------------
def test_parse_window_specs() -> None:
    assert parse_window("7D").unit == "week"
    assert parse_window("W").count == 1
    assert parse_window("14D") == parse_window("2W")
    assert parse_window("1D").unit == "day"
    assert parse_window("6h").unit == "hour" and parse_window("6h").noisy
    assert parse_window("2500rows").count == 2500


def test_weekly_windows_start_on_monday_and_keep_empty_weeks() -> None:
    ts = ["2026-01-07 12:00", "2026-01-11 23:59:59", "2026-01-12 00:00", "2026-01-28"]
    wins = split_windows(ts, "7D")
    assert [w.label for w in wins] == ["2026-W02", "2026-W03", "2026-W04", "2026-W05"]
    assert [w.n for w in wins] == [2, 1, 0, 1]
    assert wins[0].start == pd.Timestamp("2026-01-05", tz="UTC")
    assert wins[0].end == wins[1].start  # half-open, contiguous


def test_time_zone_aware_input_and_local_edges() -> None:
    # 23:30 in New York on Sunday is Monday 04:30 UTC: a different UTC week, the same local week
    ts = pd.DatetimeIndex(
        [
            pd.Timestamp("2026-01-11 23:30", tz="America/New_York"),
            pd.Timestamp("2026-01-12 10:00", tz="America/New_York"),
        ]
    )
    utc = split_windows(ts, "W")
    assert [w.n for w in utc] == [2]
    assert utc[0].label == "2026-W03"
    local = split_windows(ts, "W", tz="America/New_York")
    assert [w.n for w in local] == [1, 1]
    assert local[1].start == pd.Timestamp("2026-01-12", tz="America/New_York")


def test_naive_timestamps_are_utc_and_daily_edges_at_midnight() -> None:
    ts = ["2026-03-01 23:59", "2026-03-02 00:00", "2026-03-02 13:00"]
    wins = split_windows(ts, "1D")
    assert [(w.label, w.n) for w in wins] == [("2026-03-01", 1), ("2026-03-02", 2)]
    assert str(wins[0].start.tz) == "UTC"


def test_unsorted_input_is_windowed_in_time_order() -> None:
    ts = pd.to_datetime(["2026-01-20", "2026-01-06", "2026-01-13"], utc=True)
    wins = split_windows(ts, "W")
    assert [w.rows.tolist() for w in wins] == [[1], [2], [0]]


def test_missing_timestamp_is_a_data_error() -> None:
    with pytest.raises(DataError, match="timestamp"):
        split_windows(["2026-01-01", None], "W")


def test_result_is_frozen_and_serialisable() -> None:
    ts = pd.date_range("2026-01-05", periods=50, freq="h", tz="UTC")
    rng = np.random.default_rng(12)
    pred, out = _correlated(rng, 50, 0.6)
    (res,) = detect_concept_drift(pred, out, ts, reference_correlation=0.6)
    assert isinstance(res, ConceptDriftResult)
    with pytest.raises(AttributeError):
        res.n = 3  # type: ignore[misc]
    d = res.to_dict()
    assert d["window_start"] == "2026-01-05T00:00:00+00:00"
    assert d["label"] == "2026-W02"


def test_daily_edges_follow_local_midnight_across_dst() -> None:
    # Europe/Berlin switches to summer time on 2026-03-29: that day has 23 hours
    ts = pd.date_range("2026-03-28 12:00", "2026-03-30 12:00", freq="h", tz="UTC")
    wins = split_windows(ts, "1D", tz="Europe/Berlin")
    assert [w.label for w in wins] == ["2026-03-28", "2026-03-29", "2026-03-30"]
    assert wins[1].end - wins[1].start == pd.Timedelta(hours=23)
    assert wins[1].n == 23


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=400),
    seed=st.integers(min_value=0, max_value=10_000),
    missing=st.floats(min_value=0.0, max_value=1.0),
    constant=st.booleans(),
    window=st.sampled_from(["1D", "W", "6h", 50]),
)
def test_results_are_always_defined(n, seed, missing, constant, window) -> None:
    rng = np.random.default_rng(seed)
    pred = np.full(n, 0.3) if constant else rng.uniform(size=n)
    out = (rng.uniform(size=n) < 0.4).astype(float)
    out[rng.uniform(size=n) < missing] = np.nan
    ts = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(rng.uniform(0, 20 * 86_400, size=n)), unit="s")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = detect_concept_drift(pred, out, ts, reference_correlation=0.5, window=window,
                                   min_samples=10)
    assert sum(r.n_predictions for r in res) == n
    for r in res:
        assert 0.0 <= r.coverage <= 1.0 and r.n <= r.n_predictions
        for v in (r.correlation, r.p_value, r.drop, *r.performance.values()):
            assert v is None or math.isfinite(v)
        assert r.p_value is None or 0.0 <= r.p_value <= 1.0
        assert r.is_drifted == (r.status == "drifted")
