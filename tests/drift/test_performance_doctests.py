"""The docstring examples of the performance modules run and hold; property tests: the
metrics and a window's performance are defined (never NaN) on any input."""

from __future__ import annotations

import doctest
import importlib
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelsteward.baseline.concept import ConceptReference
from modelsteward.drift.performance import Bands, window_performance
from modelsteward.stats.metrics import performance_metrics

MODULES = [
    "modelsteward.stats.metrics",
    "modelsteward.stats.correlation",
    "modelsteward.baseline.concept",
    "modelsteward.drift.estimation",
    "modelsteward.drift.performance",
    "modelsteward.monitor.performance_checks",
    "modelsteward.report.performance",
    "modelsteward.report.overview",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


_probs = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(_probs, st.data(), st.floats(0.05, 0.95))
def test_binary_metrics_are_finite_and_in_range(p: list[float], data: st.DataObject,
                                                threshold: float) -> None:
    y = data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(p), max_size=len(p)))
    m = performance_metrics("binary", y, p, threshold=threshold)
    assert {"f1", "precision", "recall", "accuracy"} <= set(m)
    assert all(math.isfinite(v) for v in m.values())
    assert all(0.0 <= m[k] <= 1.0 for k in ("f1", "precision", "recall", "accuracy", "brier"))
    assert ("roc_auc" in m) == (0 < sum(y) < len(y))


_REF = ConceptReference.fit(np.linspace(0.01, 0.99, 400),
                            (np.random.default_rng(0).uniform(size=400)
                             < np.linspace(0.01, 0.99, 400)).astype(float))
_BANDS = Bands(_REF, n_boot=100)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(-0.5, 1.5), st.sampled_from([0.0, 1.0, math.nan])),
                min_size=0, max_size=80))
def test_window_performance_is_defined_on_any_window(rows: list[tuple[float, float]]) -> None:
    p = np.array([r[0] for r in rows], dtype=float)
    y = np.array([r[1] for r in rows], dtype=float)
    res = window_performance(_REF, p, y, bands=_BANDS, min_labelled=5, min_rows=5)
    text = json.dumps(res.to_dict())
    assert "NaN" not in text and "Infinity" not in text
    assert res.n_predictions == len(rows) and 0.0 <= res.coverage <= 1.0
    assert res.diagnosis.kind in ("ok", "covariate_shift", "concept_drift", "early_warning",
                                  "estimate_not_confirmed", "performance_drop")
