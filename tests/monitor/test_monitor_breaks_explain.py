"""A model-level drop in a window whose inputs broke upstream is not called concept drift."""

from __future__ import annotations

import numpy as np
import pandas as pd

from modelsteward.baseline import Baseline
from modelsteward.monitor import run_monitor
from modelsteward.monitor.alerts import Alert
from modelsteward.monitor.judge import explained_by_breaks


def _alert(kind: str, severity: str = "critical", alert_type: str = "correlation_drop"
           ) -> Alert:
    return Alert(key=f"{kind}:x", kind=kind, feature=None, alert_type=alert_type,
                 severity=severity, summary="correlation fell", value=0.2, baseline_value=0.7,
                 threshold_name="concept_min_drop", threshold=0.1, threshold_source="preset",
                 action="retrain", window_index=1, window_label="w1", model_name="m",
                 model_version="1")


def test_a_break_turns_a_correlation_alert_into_info_and_names_the_features() -> None:
    out = explained_by_breaks(_alert("concept_drift"), ["age", "income"])
    assert out.severity == "info"
    assert "age, income" in out.summary and "pipeline" in out.summary
    perf = explained_by_breaks(_alert("performance", alert_type="concept_drift"), ["age"])
    assert perf.severity == "critical" and perf.alert_type == "performance_drop"
    early = _alert("performance", "warning", "early_warning")
    assert explained_by_breaks(early, ["age"]) == early  # already points at the inputs
    assert explained_by_breaks(_alert("concept_drift"), []) == _alert("concept_drift")


def test_the_break_week_raises_degradation_not_concept_drift() -> None:
    rng = np.random.default_rng(3)
    n = 4_000
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    score = 1 / (1 + np.exp(-(2 * x1 + x2)))
    y = (rng.uniform(size=n) < score).astype(float)
    base = Baseline.fit({"x1": x1, "x2": x2}, predictions=score, outcomes=y)
    m = 3 * 2_000
    p1, p2 = rng.normal(size=m), rng.normal(size=m)
    p_y = (rng.uniform(size=m) < 1 / (1 + np.exp(-(2 * p1 + p2)))).astype(float)
    p1[4_000:] = np.nan  # week 3: the upstream job stops filling x1
    pred = 1 / (1 + np.exp(-(2 * np.nan_to_num(p1) + p2)))  # the model sees 0 for x1
    ts = pd.date_range("2026-01-05", periods=m, freq=pd.Timedelta(days=21) / m, tz="UTC")
    frame = pd.DataFrame({"timestamp": ts, "x1": p1, "x2": p2, "prediction": pred,
                          "outcome": p_y})
    rep = run_monitor("m", frame, baseline=base, sinks=[])
    last = rep.windows[-1]
    kinds = {(a.kind, a.severity) for a in last.alerts}
    assert ("degradation", "critical") in kinds
    assert ("concept_drift", "critical") not in kinds
    concept = [a for a in last.alerts if a.kind == "concept_drift"]
    assert concept and all("broke upstream" in a.summary for a in concept)
