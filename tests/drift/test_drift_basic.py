"""The chapter's detectors: data drift, PSI, degradation."""

import numpy as np
import pytest
import scipy.stats as ss

from modelsteward import Baseline, compute_psi, detect_data_drift, detect_feature_degradation
from modelsteward.errors import EmptyDataError


def test_data_drift_matches_scipy_and_sorts_worst_first() -> None:
    rng = np.random.default_rng(0)
    ref = {
        "a": rng.normal(size=3000),
        "b": rng.normal(size=3000),
        "c": rng.choice(["x", "y"], 3000),
    }
    cur = {
        "a": rng.normal(0.5, 1, 800),
        "b": rng.normal(size=800),
        "c": rng.choice(["x", "y"], 800),
    }
    res = detect_data_drift(Baseline.fit(ref), cur)
    assert [r.feature for r in res][0] == "a"
    by = {r.feature: r for r in res}
    expected = ss.ks_2samp(ref["a"], cur["a"])
    assert by["a"].statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert by["a"].p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert by["a"].is_drifted and by["a"].test == "ks" and by["a"].kind == "numeric"
    assert by["c"].test == "chi2" and by["c"].kind == "categorical"
    assert by["a"].n_reference == 3000 and by["a"].n_current == 800
    assert by["a"].p_threshold == 0.01
    assert [r.effect_size for r in res] == sorted((r.effect_size for r in res), reverse=True)


def test_missing_feature_is_drifted() -> None:
    res = detect_data_drift({"a": np.arange(10.0), "b": np.arange(10.0)}, {"a": np.arange(10.0)})
    missing = [r for r in res if r.feature == "b"][0]
    assert (missing.statistic, missing.p_value, missing.is_drifted, missing.test) == (
        1.0,
        0.0,
        True,
        "missing",
    )


def test_empty_window_is_a_typed_error() -> None:
    with pytest.raises(EmptyDataError, match="no rows"):
        detect_data_drift({"a": np.arange(10.0)}, {"a": np.array([])})


def test_compute_psi_matches_stats_psi() -> None:
    rng = np.random.default_rng(2)
    ref, cur = rng.exponential(size=4000), rng.exponential(1.3, 4000)
    assert compute_psi(ref, cur) > 0.02
    assert compute_psi(ref, ref) == pytest.approx(0.0, abs=1e-12)


def test_degradation_rules_fire_on_broken_features() -> None:
    rng = np.random.default_rng(5)
    n = 5000
    ref = {
        "nulls": rng.normal(size=n),
        "const": rng.normal(size=n),
        "gone": rng.normal(size=n),
        "cat": rng.choice(["a", "b"], n),
        "range": rng.uniform(0, 1, n),
    }
    nulls = rng.normal(size=1000)
    nulls[:200] = np.nan
    cur = {
        "nulls": nulls,
        "const": np.full(1000, 0.5),
        "cat": rng.choice(["a", "b", "zz"], 1000),
        "range": rng.uniform(0, 100, 1000),
    }
    alerts = detect_feature_degradation(Baseline.fit(ref), cur)
    kinds = {(a.feature, a.alert_type) for a in alerts}
    assert ("gone", "missing_feature") in kinds
    assert ("nulls", "null_rate") in kinds
    assert ("const", "low_variance") in kinds
    assert ("const", "cardinality_collapse") in kinds
    assert ("cat", "unseen_categories") in kinds
    assert ("range", "out_of_range") in kinds
    for a in alerts:
        assert a.message and a.threshold >= 0


def test_no_degradation_on_a_clean_smaller_window() -> None:
    rng = np.random.default_rng(6)
    base = Baseline.fit(
        {"x": rng.normal(size=100_000), "c": rng.choice(list("abcdefghijkl"), 100_000)}
    )
    alerts = detect_feature_degradation(
        base, {"x": rng.normal(size=2000), "c": rng.choice(list("abcdefghijkl"), 2000)}
    )
    assert alerts == []
