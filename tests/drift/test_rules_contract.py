"""The contract every detector inherits (in the manner of scikit-learn's ``check_estimator``):
each rule runs through the same battery of windows (empty, single row, all-null, constant,
infinite values, NaN, huge values), in exact and in sketch mode, and must give a defined,
finite, serialisable answer that is the same in both modes wherever the sketch is exact."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from dataclasses import fields

import numpy as np
import pytest

from modelsteward.baseline import Baseline
from modelsteward.drift import (
    DegradationAlert,
    DriftResult,
    detect_data_drift,
    detect_feature_degradation,
)
from modelsteward.errors import EmptyDataError

N_REF = 600  # small enough that every sketch is exact (KLL below k, frequent items exact)
MODES = ("exact", "sketch")

Result = DriftResult | DegradationAlert
Rule = Callable[[Baseline, dict[str, np.ndarray], str], list[Result]]


def _drift(base: Baseline, cur: dict[str, np.ndarray], mode: str) -> list[Result]:
    return list(detect_data_drift(base, cur, mode=mode))


def _degradation(base: Baseline, cur: dict[str, np.ndarray], mode: str) -> list[Result]:
    return list(detect_feature_degradation(base, cur, mode=mode))


RULES: dict[str, Rule] = {"data_drift": _drift, "degradation": _degradation}


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    rng = np.random.default_rng(42)
    return Baseline.fit(
        {
            "x": rng.normal(10.0, 2.0, N_REF),
            "c": rng.choice(np.array(["a", "b", "c", "d"]), N_REF),
        }
    )


def _window(kind: str, n: int = 300) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal(10.0, 2.0, n)
    c = rng.choice(np.array(["a", "b", "c", "d"]), n).astype(object)
    if kind == "single_row":
        return {"x": x[:1], "c": c[:1]}
    if kind == "all_null":
        return {"x": np.full(n, np.nan), "c": np.full(n, None, dtype=object)}
    if kind == "constant":
        return {"x": np.full(n, 3.0), "c": np.full(n, "a", dtype=object)}
    if kind == "inf":
        x[::10] = np.inf
        x[5::10] = -np.inf
        return {"x": x, "c": c}
    if kind == "nan":
        x[::3] = np.nan
        c[::3] = None
        return {"x": x, "c": c}
    if kind == "huge":
        return {"x": np.where(np.arange(n) % 2 == 0, 1.7e308, -1.7e308), "c": c}
    assert kind == "clean"
    return {"x": x, "c": c}


CASES = ("clean", "single_row", "all_null", "constant", "inf", "nan", "huge")


def _finite_dict(r: Result) -> dict[str, object]:
    d = r.to_dict()
    json.dumps(d, allow_nan=False)  # no NaN or inf leaks into a result
    for key, value in d.items():
        if isinstance(value, float):
            assert math.isfinite(value), (key, value)
    return d


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rule", sorted(RULES))
def test_empty_window_is_a_typed_error(baseline: Baseline, rule: str, mode: str) -> None:
    with pytest.raises(EmptyDataError, match="no rows"):
        RULES[rule](baseline, {"x": np.zeros(0), "c": np.zeros(0, dtype=object)}, mode)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_window_gets_a_defined_finite_answer(
    baseline: Baseline, rule: str, mode: str, case: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow or invalid value inside
        results = RULES[rule](baseline, _window(case), mode)
    for r in results:
        d = _finite_dict(r)
        assert type(r)(**d) == r  # to_dict round trip
        if isinstance(r, DriftResult):
            assert 0.0 <= r.p_value <= 1.0 and r.psi >= 0.0 and r.mode == mode
            assert r.is_drifted == (r.p_value < r.p_threshold) or r.n_current == 0
    if rule == "data_drift":
        assert {r.feature for r in results} == {"x", "c"}


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("case", CASES)
def test_exact_and_sketch_agree_while_the_sketch_is_exact(
    baseline: Baseline, rule: str, case: str
) -> None:
    exact = RULES[rule](baseline, _window(case), "exact")
    sketch = RULES[rule](baseline, _window(case), "sketch")
    if rule == "data_drift":
        by_name = {r.feature: r for r in sketch}
        for e in exact:
            s = by_name[e.feature]
            assert isinstance(e, DriftResult) and isinstance(s, DriftResult)
            assert s.statistic_bound == 0.0  # the sketches are exact at this size
            assert s.is_drifted == e.is_drifted, (case, e, s)
            assert s.statistic == pytest.approx(e.statistic, rel=1e-12, abs=1e-12)
            assert s.p_value == pytest.approx(e.p_value, rel=1e-9, abs=1e-300)
            assert s.psi == pytest.approx(e.psi, rel=1e-9, abs=1e-12)
    else:
        assert [(a.feature, a.alert_type) for a in sketch] == [
            (a.feature, a.alert_type) for a in exact
        ]


def test_expected_alerts_of_the_battery(baseline: Baseline) -> None:
    """The windows are what they claim: a broken implementation misses these."""
    for mode in MODES:
        types = {(a.feature, a.alert_type)
                 for a in detect_feature_degradation(baseline, _window("all_null"), mode=mode)}
        assert types == {("x", "null_rate"), ("c", "null_rate")}
        types = {(a.feature, a.alert_type)
                 for a in detect_feature_degradation(baseline, _window("constant"), mode=mode)}
        assert ("x", "low_variance") in types and ("x", "out_of_range") in types
        drift = {r.feature: r for r in detect_data_drift(baseline, _window("constant"),
                                                         mode=mode)}
        assert drift["x"].is_drifted and drift["x"].statistic == 1.0
        assert drift["c"].is_drifted
        clean = detect_data_drift(baseline, _window("clean"), mode=mode)
        assert not any(r.is_drifted for r in clean)
        null = {r.feature: r for r in detect_data_drift(baseline, _window("all_null"),
                                                        mode=mode)}
        assert null["x"].is_drifted and null["x"].p_value == 0.0 and null["x"].n_current == 0


@pytest.mark.parametrize("mode", MODES)
def test_thresholds_at_their_boundaries(baseline: Baseline, mode: str) -> None:
    """Every rule compares strictly: a threshold equal to the measured value does not fire,
    one just below it does; the same in both modes."""
    cur = _window("clean")
    cur["x"] = cur["x"].copy()
    cur["x"][:30] = np.nan  # null rate 10%
    cur["x"][30:36] = 1e6  # 6 of 270 non-null values above the training range
    rate = 30 / 300
    ref = baseline.columns["x"]
    valid = cur["x"][30:]
    outside = int(np.count_nonzero((valid < ref.minimum) | (valid > ref.maximum)))
    assert outside >= 6
    share = outside / 270

    def alerts(**kw: float) -> set[str]:
        return {a.alert_type for a in detect_feature_degradation(baseline, cur, mode=mode, **kw)
                if a.feature == "x"}

    assert "null_rate" not in alerts(null_rate_threshold=rate)
    assert "null_rate" in alerts(null_rate_threshold=math.nextafter(rate, 0.0))
    assert "out_of_range" not in alerts(out_of_range_threshold=share)
    assert "out_of_range" in alerts(out_of_range_threshold=math.nextafter(share, 0.0))
    (r,) = [r for r in detect_data_drift(baseline, {"x": cur["x"]}, mode=mode)
            if r.feature == "x"]
    p = r.p_value
    assert 0.0 < p < 1.0
    at = [x for x in detect_data_drift(baseline, {"x": cur["x"]}, p_threshold=p, mode=mode)
          if x.feature == "x"][0]
    above = [x for x in detect_data_drift(baseline, {"x": cur["x"]},
                                          p_threshold=math.nextafter(p, 1.0), mode=mode)
             if x.feature == "x"][0]
    assert not at.is_drifted and above.is_drifted
    # min_effect at the statistic keeps the decision, just above it removes it
    eff = r.statistic - r.statistic_bound
    keep = detect_data_drift(baseline, {"x": cur["x"]}, p_threshold=0.5, min_effect=eff,
                             mode=mode)
    drop = detect_data_drift(baseline, {"x": cur["x"]}, p_threshold=0.5,
                             min_effect=math.nextafter(eff, 2.0), mode=mode)
    x_keep = [x for x in keep if x.feature == "x"][0]
    x_drop = [x for x in drop if x.feature == "x"][0]
    assert x_keep.is_drifted == (p < 0.5) and not x_drop.is_drifted


def test_result_types_list_every_field_in_to_dict() -> None:
    for cls in (DriftResult, DegradationAlert):
        names = {f.name for f in fields(cls)}
        example = cls(**{f.name: _example(f.type) for f in fields(cls)})
        assert set(example.to_dict()) == names


def _example(annotation: object) -> object:
    text = str(annotation)
    if "bool" in text:
        return False
    if "int" in text:
        return 1
    if "float" in text:
        return 0.5
    return "x"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_exact_mode_on_a_sketch_baseline_is_a_data_error(rule: str) -> None:
    """Every conflict of mode and inputs raises one error type (it was a BaselineError in
    one place and a DataError in another)."""
    from modelsteward.errors import DataError

    base = Baseline.fit({"x": np.arange(100.0)}, mode="sketch")
    with pytest.raises(DataError, match="exact mode needs an exact baseline"):
        RULES[rule](base, {"x": np.arange(10.0)}, "exact")
