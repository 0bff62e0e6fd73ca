"""Performance in the monitor: measure each window (realized and estimated performance with
bands, typed), then judge the measurements under a policy into alerts.

``measure`` needs the baseline's performance reference (``baseline.concept``, fitted from the
held-out split); ``judge`` turns a :class:`~modelsteward.drift.performance.WindowPerformance`
into at most one alert per watched metric:

- a realized drop (labels): ``critical``, diagnosed as concept drift or covariate shift;
- an estimated drop without labels yet: ``warning`` (early warning);
- an estimated drop the labels do not confirm: ``info``.

    >>> import numpy as np, pandas as pd
    >>> from modelsteward.baseline import Baseline
    >>> from modelsteward.monitor.windows import split_windows
    >>> from modelsteward.monitor.policy import load_policy
    >>> rng = np.random.default_rng(0)
    >>> p = 1 / (1 + np.exp(-2 * rng.normal(size=3_000)))
    >>> base = Baseline.fit({"x": p}, predictions=p, outcomes=rng.uniform(size=3_000) < p)
    >>> q = 1 / (1 + np.exp(-2 * rng.normal(size=1_000)))
    >>> frame = pd.DataFrame({"prediction": q, "outcome": (rng.uniform(size=1_000) < 0.5) * 1.0})
    >>> perf = measure(frame, split_windows(None, 500, n_rows=1_000), base, load_policy())
    >>> [a.alert_type for a in judge(perf[0], load_policy(), window_index=0, window_label="w0",
    ...                               model_name="m", model_version="1")]
    ['concept_drift', 'concept_drift']
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelsteward.drift.performance import Bands, WindowPerformance, window_performance
from modelsteward.monitor.alerts import Alert
from modelsteward.monitor.policy import Policy, severity_rank

__all__ = ["ACTIONS", "judge", "measure", "predictions_of", "rejudge"]

ACTIONS = {
    "concept_drift": "the relation between inputs and outcome changed: retrain on recent "
                     "labelled data, or roll back to a version that still holds",
    "covariate_shift": "the inputs moved into territory where the model is less accurate (the "
                       "relation holds): look at the drifted features; retrain with more data "
                       "from that region if the drop matters",
    "performance_drop": "performance fell beyond its noise band: check the drifted features "
                        "and recent labels; retrain if it persists",
    "early_warning": "estimated performance fell before labels arrived: check the drifted "
                     "features now; confirm when the labels come in",
    "estimate_not_confirmed": "the estimate fell but the labels do not confirm it: check "
                              "whether the model's confidence changed (calibration)",
}


def predictions_of(frame: pd.DataFrame, column: str, scores: np.ndarray | None,
                   task: str, k: int) -> np.ndarray | None:
    """Binary/regression: the cleaned scores. Multiclass: the ``n x k`` matrix of the
    prediction column's lists of class probabilities (malformed rows: NaN; a matrix given as
    ``scores`` is used as it is)."""
    if task != "multiclass":
        return scores
    if scores is not None and scores.ndim == 2 and scores.shape[1] == k:
        return scores
    if column not in frame.columns:
        return None
    out = np.full((len(frame), k), np.nan)
    for i, v in enumerate(frame[column].tolist()):
        if isinstance(v, str):
            import json

            try:
                v = json.loads(v)
            except ValueError:
                continue
        if isinstance(v, (list, tuple, np.ndarray)) and len(v) == k:
            try:
                out[i] = np.asarray(v, dtype=float)
            except (TypeError, ValueError):
                continue
    return out


def measure(frame: pd.DataFrame, windows: list[Any], baseline: Any, policy: Policy, *,
            prediction_column: str = "prediction", outcome_column: str = "outcome",
            scores: np.ndarray | None = None, notes: list[str] | None = None,
            bands: Bands | None = None) -> dict[int, WindowPerformance]:
    """One :class:`WindowPerformance` per window index (``{}`` when there is nothing to
    measure: no reference, no prediction column; the reason goes to ``notes``)."""
    notes = notes if notes is not None else []
    ref = getattr(baseline, "concept", None)
    if ref is None or not hasattr(ref, "has_sample"):
        return {}
    if prediction_column not in frame.columns:
        return {}
    if scores is None and ref.task != "multiclass":
        scores = pd.to_numeric(frame[prediction_column], errors="coerce").to_numpy(dtype=float)
    k = ref.n_classes
    preds = predictions_of(frame, prediction_column, scores, ref.task, k)
    if preds is None:
        return {}
    ok = np.isfinite(preds) if preds.ndim == 1 else np.isfinite(preds).all(axis=1)
    if not ok.any():
        notes.append("predictions are not usable numbers (multiclass: lists of "
                     f"{k} class probabilities): performance not checked")
        return {}
    outs = (frame[outcome_column].to_numpy(dtype=float) if outcome_column in frame.columns
            else np.full(len(frame), np.nan))
    bands = bands or Bands(ref, alpha=float(policy.value("performance_alpha")))
    kwargs = dict(bands=bands, metrics=policy.value("performance_metrics"),
                  min_labelled=max(4, int(policy.value("min_labelled_rows"))),
                  min_rows=int(policy.value("min_window_rows")),
                  min_drop=float(policy.value("performance_min_drop")))
    out: dict[int, WindowPerformance] = {}
    for w in windows:
        rows = np.asarray(w.rows)
        rows = rows[ok[rows]]
        out[w.index] = window_performance(ref, preds[rows], outs[rows], **kwargs)
    return out


def _num(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def judge(perf: WindowPerformance | None, policy: Policy, **common: Any) -> list[Alert]:
    """Alerts of one window's performance under ``policy`` (``common``: window_index,
    window_label, model_name, model_version)."""
    if perf is None:
        return []
    d = perf.diagnosis
    alerts: list[Alert] = []
    for c in perf.checks:
        realized = c.status == "drop"
        estimated = c.estimated_status == "drop"
        if not realized and not estimated:
            continue
        if realized:
            kind = d.kind if d.metric == c.metric or d.kind in ("concept_drift",
                                                                "covariate_shift") else \
                "performance_drop"
            kind = kind if kind in ACTIONS else "performance_drop"
            severity, value, base = "critical", c.value, c.reference
            edge = c.lower if c.higher_is_better else c.upper
            what = (f"realized {c.metric} {_num(c.value)} on {perf.n_labelled} labelled rows "
                    f"(coverage {perf.coverage:.0%}) against reference {_num(c.reference)}, "
                    f"band edge {_num(edge)}; estimated {_num(c.estimated)}")
        else:
            kind = "early_warning" if d.kind == "early_warning" else "estimate_not_confirmed"
            severity = "warning" if kind == "early_warning" else "info"
            value, base = c.estimated, c.estimated_reference
            edge = c.estimated_lower if c.higher_is_better else c.estimated_upper
            what = (f"estimated {c.metric} {_num(c.estimated)} from {perf.n_predictions} "
                    f"predictions against reference estimate {_num(base)}, band edge "
                    f"{_num(edge)}; realized {_num(c.value)} ({perf.n_labelled} labelled)")
        why = d.summary if d.metric == c.metric else kind.replace("_", " ")
        alerts.append(Alert(
            key=f"performance:{c.metric}:{'realized' if realized else 'estimated'}",
            kind="performance", feature=None, alert_type=kind, severity=severity,
            summary=f"{what}. {why}", value=value, baseline_value=base,
            threshold_name="performance_alpha", threshold=policy.value("performance_alpha"),
            threshold_source=policy.source("performance_alpha"), action=ACTIONS[kind],
            **common,
        ))
    return alerts


def rejudge(result: dict[str, Any], perf: WindowPerformance | None, policy: Policy,
            floor: int, **common: Any) -> tuple[dict[str, Any], list[Alert]]:
    """A stored window result (``to_dict()``) with its performance and performance alerts
    replaced by ``perf`` measured again after late labels arrived; also the alerts at or above
    severity ``floor`` that it did not have before (to be sent)."""
    if perf is None:
        return result, []
    new = judge(perf, policy, **common)
    old = result.get("alerts", [])
    had = {a.get("key") for a in old if a.get("kind") == "performance"
           and severity_rank(a.get("severity")) >= floor}
    kept = [a for a in old if a.get("kind") != "performance"]
    out = {**result, "performance": perf.to_dict(), "alerts": kept + [a.to_dict() for a in new]}
    return out, [a for a in new if severity_rank(a.severity) >= floor and a.key not in had]
