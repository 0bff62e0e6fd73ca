"""Multivariate drift: reconstruction error and domain classifier against a joint reference."""

from __future__ import annotations

import json

import numpy as np
import pytest

from modelsteward.baseline import Baseline
from modelsteward.baseline.joint import JointReference, merge_samples, reservoir_keys
from modelsteward.drift import detect_data_drift
from modelsteward.drift.multivariate import (
    MultivariateDriftResult,
    detect_classifier_drift,
    detect_reconstruction_drift,
    reconstruction_band,
)
from modelsteward.errors import BaselineError, EmptyDataError, StewardError

RHO = 0.8
WINDOW = 1_000  # the stated window size of the decoupling case


def frame(n: int, rho: float, rng: np.random.Generator, noise: int = 6) -> dict[str, np.ndarray]:
    """x, y standard normal with correlation rho; independent noise columns; one category."""
    a = rng.normal(size=n)
    b = rho * a + np.sqrt(1 - rho**2) * rng.normal(size=n)
    d: dict[str, np.ndarray] = {"x": a, "y": b}
    for i in range(noise):
        d[f"n{i}"] = rng.normal(size=n)
    d["c"] = rng.choice(np.array(["a", "b", "c"], dtype=object), size=n, p=[0.5, 0.3, 0.2])
    return d


@pytest.fixture(scope="module")
def reference() -> JointReference:
    return JointReference.fit(frame(20_000, RHO, np.random.default_rng(0)))


# ------------------------------------------------------------------ reconstruction
def test_reconstruction_false_alarms_at_or_below_nominal_level() -> None:
    """200 no-change windows over 4 independently fitted references: rate <= alpha."""
    alpha = 0.05
    flagged = 0
    for r in range(4):
        ref = JointReference.fit(frame(20_000, RHO, np.random.default_rng(10 + r)), seed=r)
        for s in range(50):
            res = detect_reconstruction_drift(
                ref, frame(WINDOW, RHO, np.random.default_rng(1_000 * r + s)), alpha=alpha)
            flagged += res.is_drifted
    assert flagged / 200 <= alpha


def test_decoupling_caught_while_per_feature_tests_stay_quiet() -> None:
    """Correlation 0.8 -> 0 with identical marginals, windows of 1,000 rows, 20 seeds."""
    caught = 0
    per_feature_flags = 0
    base = Baseline.fit(frame(20_000, RHO, np.random.default_rng(7)), joint=True)
    assert base.joint is not None
    for s in range(20):
        window = frame(WINDOW, 0.0, np.random.default_rng(500 + s))
        res = detect_reconstruction_drift(base.joint, window, alpha=0.01)
        caught += res.is_drifted
        assert {f for f, _ in res.top_features[:2]} == {"x", "y"}
        drift = detect_data_drift(base, window, p_threshold=0.01)
        per_feature_flags += sum(r.is_drifted for r in drift)
    assert caught >= 19  # >= 95% of seeds
    # 8 features x 20 windows at p < 0.01: about 1.6 flags expected from noise alone
    assert per_feature_flags <= 5


def test_reconstruction_ignores_pure_noise_but_sees_a_new_segment(
    reference: JointReference,
) -> None:
    rng = np.random.default_rng(3)
    window = frame(WINDOW, RHO, rng)
    window["x"] = window["x"].copy()
    window["x"][:300] = 4.0  # a block of rows far off the reference's joint shape
    res = detect_reconstruction_drift(reference, window)
    assert res.is_drifted and res.statistic > res.upper
    assert res.top_features[0][0] in ("x", "y")


def test_band_narrows_with_window_size_and_contains_the_reference_mean(
    reference: JointReference,
) -> None:
    errs = reference.heldout_errors
    small = reconstruction_band(errs, 100, 0.01)
    large = reconstruction_band(errs, 50_000, 0.01)  # normal approximation branch
    mean = float(errs.mean())
    assert small[0] < mean < small[1] and large[0] < mean < large[1]
    assert (large[1] - large[0]) < (small[1] - small[0]) / 3


def test_result_to_dict_is_json_ready(reference: JointReference) -> None:
    res = detect_reconstruction_drift(reference, frame(500, 0.0, np.random.default_rng(4)))
    assert isinstance(res, MultivariateDriftResult)
    d = json.loads(json.dumps(res.to_dict()))
    assert d["method"] == "reconstruction" and d["n"] == 500
    assert d["lower"] < d["upper"] and set(d) >= {"statistic", "is_drifted", "top_features"}
    with pytest.raises(AttributeError):
        res.statistic = 0.0  # type: ignore[misc]


# ------------------------------------------------------------------ classifier
def test_classifier_false_alarms_at_or_below_nominal_level(reference: JointReference) -> None:
    alpha = 0.05
    flagged = sum(
        detect_classifier_drift(reference, frame(WINDOW, RHO, np.random.default_rng(2_000 + s)),
                                p_threshold=alpha, min_auc=0.5, seed=s).is_drifted
        for s in range(40))
    assert flagged / 40 <= alpha


def test_classifier_catches_decoupling_and_names_the_pair(reference: JointReference) -> None:
    caught = 0
    for s in range(5):
        res = detect_classifier_drift(reference, frame(WINDOW, 0.0, np.random.default_rng(s)),
                                      seed=s)
        caught += res.is_drifted
        assert res.statistic > 0.55 and res.p_value is not None and res.p_value < 1e-6
        assert {f for f, _ in res.top_features[:2]} == {"x", "y"}
    assert caught == 5


def test_classifier_catches_a_segment_mix_shift() -> None:
    """Two segments; each feature's histogram is a mixture; the window holds a new mixture of
    (segment-A x, segment-B y) combinations the reference never had."""
    rng = np.random.default_rng(11)
    n = 20_000
    seg = rng.random(n) < 0.5
    x = np.where(seg, rng.normal(-2, 1, n), rng.normal(2, 1, n))
    y = np.where(seg, rng.normal(-2, 1, n), rng.normal(2, 1, n))
    ref = JointReference.fit({"x": x, "y": y})
    m = 1_000
    sx, sy = rng.random(m) < 0.5, rng.random(m) < 0.5  # segments no longer aligned
    window = {"x": np.where(sx, rng.normal(-2, 1, m), rng.normal(2, 1, m)),
              "y": np.where(sy, rng.normal(-2, 1, m), rng.normal(2, 1, m))}
    assert detect_classifier_drift(ref, window).is_drifted
    assert detect_reconstruction_drift(ref, window).is_drifted


# ------------------------------------------------------------------ degenerate inputs
def test_constant_all_null_and_single_category_columns_give_a_defined_result() -> None:
    rng = np.random.default_rng(5)
    n = 2_000
    data = {"x": rng.normal(size=n), "const": np.full(n, 3.0), "empty": np.full(n, np.nan),
            "one": np.array(["only"] * n, dtype=object)}
    ref = JointReference.fit(data)
    assert ref.columns == ["x", "const", "one"]
    assert any("empty" in note for note in ref.notes)
    same = {k: v[:500] for k, v in data.items()}
    for res in (detect_reconstruction_drift(ref, same), detect_classifier_drift(ref, same)):
        assert np.isfinite(res.statistic) and not res.is_drifted
    moved = dict(same, const=np.full(500, 4.0))  # the constant changed value
    assert detect_reconstruction_drift(ref, moved).is_drifted


def test_every_column_constant_means_no_components_and_any_change_drifts() -> None:
    ref = JointReference.fit({"a": np.ones(100), "b": np.zeros(100)})
    assert ref.n_components == 0
    same = detect_reconstruction_drift(ref, {"a": np.ones(20), "b": np.zeros(20)})
    assert same.statistic == 0.0 and not same.is_drifted
    assert detect_reconstruction_drift(ref, {"a": np.ones(20), "b": np.ones(20)}).is_drifted


def test_fewer_rows_than_components_still_fits_and_says_so() -> None:
    rng = np.random.default_rng(6)
    data = {f"f{i}": rng.normal(size=60) for i in range(80)}
    ref = JointReference.fit(data)
    assert ref.n_components <= 30
    assert any("fewer PCA rows" in note for note in ref.notes)
    res = detect_reconstruction_drift(ref, {k: v[:20] for k, v in data.items()})
    assert np.isfinite(res.statistic) and res.lower <= res.upper


def test_too_few_rows_and_all_null_data_raise_clear_errors() -> None:
    with pytest.raises(BaselineError, match="at least 50 reference rows"):
        JointReference.fit({"x": np.arange(10.0)})
    with pytest.raises(BaselineError, match="entirely null"):
        JointReference.fit({"x": np.full(100, np.nan)})
    ref = JointReference.fit({"x": np.arange(100.0), "y": np.arange(100.0) ** 2})
    with pytest.raises(EmptyDataError, match="at least 10 rows"):
        detect_reconstruction_drift(ref, {"x": np.arange(5.0), "y": np.arange(5.0)})
    with pytest.raises(StewardError, match="alpha"):
        detect_reconstruction_drift(ref, {"x": np.arange(50.0), "y": np.arange(50.0)}, alpha=2)


def test_missing_window_column_is_imputed_and_named(reference: JointReference) -> None:
    window = frame(500, RHO, np.random.default_rng(8))
    del window["n0"]
    res = detect_reconstruction_drift(reference, window)
    assert any("n0" in note for note in res.notes)


# ------------------------------------------------------------------ baseline state
def test_joint_reference_saves_and_loads_with_the_baseline(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = frame(3_000, RHO, np.random.default_rng(9))
    base = Baseline.fit(data, joint=True, sample_size=1_000)
    assert base.joint is not None and base.joint.sample.shape == (1_000, len(data))
    loaded = Baseline.load(base.save(tmp_path))
    assert loaded.joint is not None
    assert not list(tmp_path.glob("*.pkl"))
    window = frame(400, 0.0, np.random.default_rng(10))
    a = detect_reconstruction_drift(base.joint, window).to_dict()
    b = detect_reconstruction_drift(loaded.joint, window).to_dict()
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    plain = Baseline.load(Baseline.fit(data).save(tmp_path / "plain"))
    assert plain.joint is None


def test_reservoir_samples_merge_to_the_sample_of_the_union() -> None:
    rng = np.random.default_rng(12)
    rows = np.arange(1_000.0)[:, None]
    keys = reservoir_keys(1_000, rng)
    whole = np.sort(rows[np.argsort(keys)[:100], 0])
    left = (rows[:600][np.argsort(keys[:600])[:100]], np.sort(keys[:600])[:100])
    right = (rows[600:][np.argsort(keys[600:])[:100]], np.sort(keys[600:])[:100])
    merged, _ = merge_samples(left, right, 100)
    assert np.array_equal(np.sort(merged[:, 0]), whole)


# ------------------------------------------------------------------ monitor and report
def test_monitor_alerts_on_the_decoupled_window_and_the_report_charts_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    from modelsteward.monitor import run_monitor
    from modelsteward.monitor.policy import load_policy

    base = Baseline.fit(frame(20_000, RHO, np.random.default_rng(21)), joint=True)
    weeks = [frame(1_000, RHO if i < 3 else 0.0, np.random.default_rng(40 + i)) for i in range(4)]
    data = pd.DataFrame({k: np.concatenate([w[k] for w in weeks]) for k in weeks[0]})
    data["timestamp"] = pd.date_range("2026-01-05", periods=4_000, freq="604.8s", tz="UTC")
    toml = tmp_path / "policy.toml"
    toml.write_text("[thresholds]\njoint_alpha = 0.005\n")
    pol = load_policy(str(toml))
    assert pol.cite("joint_alpha") == "joint_alpha 0.005 (file policy.toml)"
    rep = run_monitor("m", data, baseline=base, sinks=[], policy=pol, describe=False)
    kinds = [[a.alert_type for a in w.alerts if a.kind == "multivariate_drift"]
             for w in rep.windows]
    assert kinds[:3] == [[], [], []]
    assert set(kinds[3]) == {"reconstruction_error", "domain_classifier"}
    alert = next(a for a in rep.windows[3].alerts if a.alert_type == "reconstruction_error")
    assert "x" in alert.summary and "y" in alert.summary
    assert alert.threshold_source == "file policy.toml"
    assert any("multivariate" in str(n.to_dict()) for n in rep.notifications)
    assert all(len(w.multivariate) == 2 for w in rep.windows)
    html = rep.write(tmp_path / "out")["html"].read_text()
    assert "Multivariate drift" in html and "no-change band" in html
    assert [w.status for w in run_monitor("m", data, baseline=Baseline.fit(data.drop(
        columns="timestamp")), sinks=[], describe=False).windows if w.multivariate] == []
