"""Performance through ``run_monitor()``: binary with text outcomes, multiclass with lists of class
probabilities, regression; alerts with their diagnosis, the report's performance section,
policy thresholds with their sources."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelsteward.baseline import Baseline
from modelsteward.errors import ConfigError
from modelsteward.monitor import run_monitor
from modelsteward.monitor.policy import load_policy
from modelsteward.report import render_html


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _frame(x: np.ndarray, pred: object, outcome: object) -> pd.DataFrame:
    ts = pd.date_range("2026-01-05", periods=len(x), freq="5min", tz="UTC")
    return pd.DataFrame({"timestamp": ts, "x": x, "prediction": pred, "outcome": outcome})


def _no_nan(report: object) -> None:
    text = json.dumps(report.to_dict(), default=str)  # type: ignore[attr-defined]
    assert "NaN" not in text and "Infinity" not in text
    html = render_html(report.to_dict())  # type: ignore[attr-defined]
    assert "id=performance" in html and ">nan<" not in html.lower()


def test_binary_text_outcomes_concept_change_and_unlabelled_tail() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=5_000)
    y = rng.uniform(size=5_000) < _sig(2 * x)
    base = Baseline.fit({"x": x}, predictions=_sig(2 * x), outcomes=np.where(y, "yes", "no"))
    assert base.concept is not None and base.concept.classes == ("no", "yes")
    x2 = rng.normal(size=6_000)
    y2 = rng.uniform(size=6_000) < _sig(2 * x2)
    y2[4_000:] = rng.uniform(size=2_000) < 0.5  # the relation is lost
    labels = np.where(y2, "yes", "no").astype(object)
    labels[5_000:] = None  # the last window has no labels yet
    rep = run_monitor("m", _frame(x2, _sig(2 * x2), labels), baseline=base, sinks=[], window=1_000)
    kinds = [w.performance.diagnosis.kind for w in rep.windows]
    assert kinds[:4] == ["ok"] * 4 and kinds[4] == "concept_drift"
    assert rep.windows[5].performance.n_labelled == 0
    alerts = [a for a in rep.windows[4].alerts if a.kind == "performance"]
    assert {a.alert_type for a in alerts} == {"concept_drift"}
    assert all(a.severity == "critical" and "realized" in a.summary for a in alerts)
    assert alerts[0].threshold_name == "performance_alpha"
    assert alerts[0].threshold_source == "preset default"
    assert not [a for w in rep.windows[:4] for a in w.alerts if a.kind == "performance"]
    from modelsteward.cli.monitor import _performance_cell

    cell = _performance_cell(rep.windows[4].performance)  # the CLI table's column
    assert cell.startswith("roc_auc 0.") and "(est 0." in cell and cell.endswith("concept drift")
    assert _performance_cell(rep.windows[5].performance).startswith("roc_auc n/a (est")
    _no_nan(rep)


def test_binary_covariate_shift_early_warning_before_labels() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=5_000)
    base = Baseline.fit({"x": x}, predictions=_sig(2 * x),
                        outcomes=rng.uniform(size=5_000) < _sig(2 * x))
    x2 = np.concatenate([rng.normal(size=2_000), rng.normal(0, 0.3, size=2_000)])
    y2 = (rng.uniform(size=4_000) < _sig(2 * x2)).astype(float)
    y2[2_000:3_000] = np.nan
    y2[3_000:] = np.where(np.arange(1_000) % 2 == 0, y2[3_000:], np.nan)
    rep = run_monitor("m", _frame(x2, _sig(2 * x2), y2), baseline=base, sinks=[], window=1_000)
    kinds = [w.performance.diagnosis.kind for w in rep.windows]
    assert kinds == ["ok", "ok", "early_warning", "covariate_shift"]
    warn = [a for a in rep.windows[2].alerts if a.kind == "performance"]
    assert warn and all(a.severity == "warning" and a.alert_type == "early_warning"
                        for a in warn)
    _no_nan(rep)


def test_multiclass_end_to_end_with_probability_lists_and_text_classes() -> None:
    rng = np.random.default_rng(2)
    classes = np.array(["bird", "cat", "dog"])

    def make(n: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = rng.normal(size=(n, 2))
        logits = np.column_stack([x[:, 0], x[:, 1], -x[:, 0] - x[:, 1]]) * 1.5
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        true = np.exp(logits * scale) / np.exp(logits * scale).sum(axis=1, keepdims=True)
        y = (rng.uniform(size=(n, 1)) > np.cumsum(true, axis=1)).sum(axis=1)
        return x[:, 0], proba, classes[y]

    x, proba, y = make(5_000)
    base = Baseline.fit({"x": x}, predictions=proba, outcomes=y)
    assert base.concept.task == "multiclass" and base.concept.classes == tuple(classes)
    parts = [make(1_000), make(1_000), make(1_000, scale=0.1)]
    x2 = np.concatenate([p[0] for p in parts])
    pr2 = [list(r) for p in parts for r in p[1]]
    y2 = np.concatenate([p[2] for p in parts])
    rep = run_monitor("m", _frame(x2, pr2, y2), baseline=base, sinks=[], window=1_000)
    perf = [w.performance for w in rep.windows]
    assert [p.status("macro_f1") for p in perf] == ["ok", "ok", "drop"]
    assert perf[2].diagnosis.kind == "concept_drift"
    assert all(p.n_labelled == 1_000 for p in perf)  # text classes mapped, none ignored
    assert rep.windows[0].concept is not None and not rep.windows[0].concept.is_drifted
    assert rep.windows[2].concept.is_drifted  # the pooled one-vs-rest correlation fell
    assert any(a.kind == "performance" for a in rep.windows[2].alerts)
    _no_nan(rep)


def test_regression_end_to_end_mae_band_and_no_estimate(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=5_000)
    base = Baseline.fit({"x": x}, predictions=x, outcomes=x + rng.normal(size=5_000))
    base.save(tmp_path / "b")
    loaded = Baseline.load(tmp_path / "b")
    assert loaded.concept.task == "regression" and loaded.concept.has_sample
    x2 = rng.normal(size=3_000)
    out = x2 + rng.normal(size=3_000) * np.repeat([1.0, 1.0, 1.3], 1_000)
    rep = run_monitor("m", _frame(x2, x2, out), baseline=loaded, sinks=[], window=1_000)
    perf = [w.performance for w in rep.windows]
    assert [p.status("mae") for p in perf] == ["ok", "ok", "drop"]
    assert all(p.estimated == {} for p in perf)
    assert perf[2].diagnosis.kind == "performance_drop"
    alert = next(a for a in rep.windows[2].alerts if a.kind == "performance")
    assert alert.alert_type == "performance_drop" and "mae" in alert.summary
    _no_nan(rep)


def test_policy_thresholds_for_performance_from_presets_and_toml(tmp_path: Path) -> None:
    assert load_policy("strict").value("performance_alpha") == 0.05
    assert load_policy("lenient").source("performance_min_drop") == "preset lenient"
    path = tmp_path / "p.toml"
    path.write_text('[thresholds]\nperformance_metrics = "roc_auc, accuracy"\n'
                    "performance_alpha = 0.001\n")
    pol = load_policy(str(path))
    assert pol.value("performance_metrics") == "roc_auc, accuracy"
    assert pol.source("performance_alpha") == "file p.toml"
    for bad in ({"performance_alpha": 0.7}, {"performance_metrics": 3},
                {"performance_min_drop": -0.1}):
        with pytest.raises(ConfigError):
            load_policy(bad)
    rng = np.random.default_rng(4)
    x = rng.normal(size=3_000)
    base = Baseline.fit({"x": x}, predictions=_sig(2 * x),
                        outcomes=rng.uniform(size=3_000) < _sig(2 * x))
    rep = run_monitor("m", _frame(x[:1_000], _sig(2 * x[:1_000]),
                              (rng.uniform(size=1_000) < _sig(2 * x[:1_000])) * 1.0),
                  baseline=base, sinks=[], window=1_000, policy=pol)
    assert [c.metric for c in rep.windows[0].performance.checks] == ["roc_auc", "accuracy"]
