"""Every degradation rule just below and just above its edge."""

import numpy as np
import pytest

from modelsteward.baseline import Baseline
from modelsteward.drift import detect_feature_degradation, expected_distinct


def _types(alerts, feature: str = "x") -> set[str]:
    return {a.alert_type for a in alerts if a.feature == feature}


def test_missing_feature() -> None:
    alerts = detect_feature_degradation(
        {"x": np.arange(5.0), "y": np.arange(5.0)}, {"y": np.arange(5.0)}
    )
    assert [(a.feature, a.alert_type) for a in alerts] == [("x", "missing_feature")]
    assert "absent" in alerts[0].message


def _with_nulls(n: int, k: int) -> np.ndarray:
    x = np.tile(np.arange(20.0), n // 20 + 1)[:n]
    x[:k] = np.nan
    return x


@pytest.mark.parametrize("k,fires", [(5, False), (6, True)])
def test_null_rate_threshold_edge(k: int, fires: bool) -> None:
    base = Baseline.fit({"x": _with_nulls(100, 0)})
    alerts = detect_feature_degradation(base, {"x": _with_nulls(100, k)})
    assert ("null_rate" in _types(alerts)) is fires
    if fires:
        a = next(a for a in alerts if a.alert_type == "null_rate")
        assert (a.current_value, a.baseline_value, a.threshold) == (0.06, 0.0, 0.05)
        assert "0.0% to 6.0%" in a.message


@pytest.mark.parametrize("k,fires", [(12, False), (13, True)])
def test_null_rate_three_times_reference_edge(k: int, fires: bool) -> None:
    base = Baseline.fit({"x": _with_nulls(100, 4)})  # 4% null in training
    alerts = detect_feature_degradation(base, {"x": _with_nulls(100, k)})
    assert ("null_rate" in _types(alerts)) is fires


@pytest.mark.parametrize("var,fires", [(0.1001, False), (0.0999, True)])
def test_low_variance_edge(var: float, fires: bool) -> None:
    base = Baseline.fit({"x": np.array([-1.0, 1.0] * 50)})  # variance 1
    a = np.sqrt(var)
    alerts = detect_feature_degradation(base, {"x": np.array([-a, a] * 50)})
    assert ("low_variance" in _types(alerts)) is fires


def test_constant_reference_never_gives_low_variance() -> None:
    base = Baseline.fit({"x": np.full(50, 2.0)})
    assert "low_variance" not in _types(detect_feature_degradation(base, {"x": np.full(9, 2.0)}))


@pytest.mark.parametrize("distinct,fires", [(30, False), (29, True)])
def test_cardinality_edge_same_size_is_the_plain_ratio(distinct: int, fires: bool) -> None:
    base = Baseline.fit({"x": np.arange(100.0)})  # 100 distinct
    cur = np.resize(np.arange(float(distinct)), 100)
    alerts = detect_feature_degradation(base, {"x": cur})
    assert ("cardinality_collapse" in _types(alerts)) is fires


@pytest.mark.parametrize("distinct,fires", [(15, False), (14, True)])
def test_cardinality_edge_smaller_window_uses_expected_distinct(distinct: int, fires: bool) -> None:
    base = Baseline.fit({"x": np.arange(100.0)})
    assert expected_distinct(np.ones(100, dtype=np.int64), 50) == pytest.approx(50.0)
    cur = np.resize(np.arange(float(distinct)), 50)  # 50 rows: about 50 distinct expected
    alerts = detect_feature_degradation(base, {"x": cur})
    assert ("cardinality_collapse" in _types(alerts)) is fires
    if fires:
        a = next(a for a in alerts if a.alert_type == "cardinality_collapse")
        assert a.baseline_value == pytest.approx(50.0) and a.threshold == 0.3


def test_cardinality_needs_more_than_ten_reference_values() -> None:
    for n_distinct, fires in ((10, False), (11, True)):
        base = Baseline.fit({"x": np.resize(np.arange(float(n_distinct)), 1100)})
        alerts = detect_feature_degradation(base, {"x": np.full(1100, 1.0)})
        assert ("cardinality_collapse" in _types(alerts)) is fires


def test_small_window_of_continuous_feature_does_not_collapse() -> None:
    rng = np.random.default_rng(0)
    base = Baseline.fit({"x": rng.normal(size=200_000)})
    assert detect_feature_degradation(base, {"x": rng.normal(size=500)}) == []


def test_expected_distinct_exact_formula() -> None:
    # counts (3, 1), N=4, m=2: P(miss v) = C(N - c, m)/C(N, m): 0 and C(3,2)/C(4,2) = 1/2
    assert expected_distinct(np.array([3, 1]), 2) == pytest.approx(1 + 0.5)
    assert expected_distinct(np.array([3, 1]), 4) == 2.0
    assert expected_distinct(np.array([3, 1]), 0) == 0.0


@pytest.mark.parametrize("n_unseen,fires", [(10, False), (11, True)])
def test_unseen_categories_edge(n_unseen: int, fires: bool) -> None:
    base = Baseline.fit({"x": np.array(["a", "b"] * 500)})
    cur = np.array(["a"] * (1000 - n_unseen) + ["new"] * n_unseen)
    alerts = detect_feature_degradation(base, {"x": cur})
    assert ("unseen_categories" in _types(alerts)) is fires
    if fires:
        assert "'new'" in next(a for a in alerts if a.alert_type == "unseen_categories").message


@pytest.mark.parametrize("n_out,fires", [(10, False), (11, True)])
def test_out_of_range_edge(n_out: int, fires: bool) -> None:
    base = Baseline.fit({"x": np.linspace(0.0, 1.0, 10_000)})
    cur = np.concatenate([np.full(1000 - n_out, 0.5), np.full(n_out, 7.0)])
    alerts = detect_feature_degradation(base, {"x": cur})
    assert ("out_of_range" in _types(alerts)) is fires
    if fires:
        a = next(a for a in alerts if a.alert_type == "out_of_range")
        assert a.current_value == pytest.approx(0.011) and a.threshold == 0.01


def test_out_of_range_bar_rises_for_small_references() -> None:
    base = Baseline.fit({"x": np.arange(50.0)})  # 4/(N+1) = 7.8% > 1%
    cur = np.concatenate([np.arange(46.0), [60.0, 70.0, 80.0]])  # 6.1% outside
    assert "out_of_range" not in _types(detect_feature_degradation(base, {"x": cur}))


def test_all_null_window_reports_only_the_null_rate() -> None:
    base = Baseline.fit({"x": np.arange(100.0)})
    alerts = detect_feature_degradation(base, {"x": np.full(30, np.nan)})
    assert _types(alerts) == {"null_rate"}
