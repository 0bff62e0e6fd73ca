"""The checks run on one window: data drift, feature degradation, their severities.

Each window is compared with the baseline (never with the previous window). A window too
small for a test says so instead of alerting: under no drift PSI grows like
``(bins - 1) * (1/n_ref + 1/n_cur)``, so when that noise floor (times a safety factor)
reaches the warning threshold, PSI bands are not used for that window.

    >>> round(psi_noise_floor(10, 10_000, 200), 4)
    0.0459
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.monitor.alerts import ACTIONS, Alert
from modelsteward.monitor.policy import Policy, severity_rank

__all__ = ["FeatureCheck", "WindowCheck", "check_window", "psi_noise_floor", "reference_bins"]

DEGRADATION_SEVERITY = {
    "missing_feature": "critical", "null_rate": "critical", "low_variance": "critical",
    "cardinality_collapse": "critical", "unseen_categories": "warning", "out_of_range": "warning",
}
# breaks that explain away a drift figure on the same feature (a null or constant column)
STRUCTURAL = {"missing_feature", "null_rate", "low_variance", "cardinality_collapse"}
DEGRADATION_THRESHOLD = {
    "null_rate": "null_rate", "low_variance": "variance_ratio",
    "cardinality_collapse": "cardinality_ratio",
}


def psi_noise_floor(n_bins: int, n_reference: int, n_current: int) -> float:
    """Expected PSI between two samples of one distribution: (bins-1)(1/n_ref + 1/n_cur)."""
    if n_reference <= 0 or n_current <= 0:
        return math.inf
    return (max(n_bins, 2) - 1) * (1.0 / n_reference + 1.0 / n_current)


def _clean(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _is_categorical(profile: Any) -> bool:
    return getattr(profile, "kind", None) == "categorical" and bool(
        getattr(profile, "category_counts", None))


def _bin_count(profile: Any) -> int:
    if _is_categorical(profile):
        return len(profile.category_counts)
    ref = getattr(profile, "psi_reference_counts", None)
    return int(len(ref)) if ref is not None else 10


def reference_bins(profile: Any) -> tuple[list[str], list[float]] | None:
    """Bin labels and reference proportions of a baseline column (for plots and tests)."""
    if _is_categorical(profile):
        counts = dict(profile.category_counts)
        top = sorted(counts, key=lambda k: -counts[k])[:15]
        total = float(sum(counts.values())) or 1.0
        labels = [str(k) for k in top] + ["(other)"]
        props = [counts[k] / total for k in top]
        props.append(max(0.0, 1.0 - sum(props)))
        return labels, props
    edges = getattr(profile, "psi_edges", None)
    ref = getattr(profile, "psi_reference_counts", None)
    if edges is None or ref is None:
        return None
    edges = np.asarray(edges, dtype=float)
    ref = np.asarray(ref, dtype=float)
    total = ref.sum() or 1.0
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=False):
        a = "-inf" if np.isneginf(lo) else f"{lo:.3g}"
        b = "inf" if np.isposinf(hi) else f"{hi:.3g}"
        labels.append(f"[{a}, {b})")
    return labels, (ref / total).tolist()


def current_bins(profile: Any, values: np.ndarray) -> list[float] | None:
    """Proportions of the window's non-null values in the reference's PSI bins."""
    if _is_categorical(profile):
        counts = dict(profile.category_counts)
        top = sorted(counts, key=lambda k: -counts[k])[:15]
        vals = pd.Series(values).dropna().astype(str)
        if vals.empty:
            return None
        freq = vals.value_counts()
        props = [float(freq.get(str(k), 0)) / len(vals) for k in top]
        props.append(max(0.0, 1.0 - sum(props)))
        return props
    edges = getattr(profile, "psi_edges", None)
    if edges is None:
        return None
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return None
    edges = np.asarray(edges, dtype=float)
    idx = np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, edges.size - 2)
    binned = np.bincount(idx, minlength=edges.size - 1)
    return (binned / x.size).tolist()


@dataclass(frozen=True)
class FeatureCheck:
    """One feature in one window: the drift figures, the noise floor and the verdict."""

    feature: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    psi: float | None
    psi_noise_floor: float | None
    psi_reliable: bool
    null_rate: float
    n_current: int
    severity: str | None
    current: list[float] | None = None  # proportions in the reference bins

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WindowCheck:
    features: tuple[FeatureCheck, ...]
    degradation: tuple[dict[str, Any], ...]
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    multivariate: tuple[dict[str, Any], ...] = ()  # joint checks (baseline fitted joint=True)


def check_window(
    baseline: Any, frame: pd.DataFrame, *, policy: Policy, model_name: str, model_version: str,
    window_index: int, window_label: str,
) -> WindowCheck:
    """Data drift and degradation for one window that has enough rows."""
    from modelsteward.drift import detect_data_drift, detect_feature_degradation

    feature_names = list(baseline.feature_names)
    present = [f for f in feature_names if f in frame.columns]
    current = frame[present]
    drift = {r.feature: r for r in detect_data_drift(baseline, current,
                                                      p_threshold=policy.value("ks_p_value"))}
    degr = detect_feature_degradation(
        baseline, current,
        null_rate_threshold=policy.value("null_rate"),
        variance_ratio_threshold=policy.value("variance_ratio"),
        cardinality_ratio_threshold=policy.value("cardinality_ratio"),
    )
    common: dict[str, Any] = dict(window_index=window_index, window_label=window_label,
                                  model_name=model_name, model_version=str(model_version))
    alerts: list[Alert] = []
    degraded: set[str] = set()
    degr_dicts: list[dict[str, Any]] = []
    for d in degr:
        severity = DEGRADATION_SEVERITY.get(d.alert_type, "warning")
        tname = DEGRADATION_THRESHOLD.get(d.alert_type, d.alert_type)
        thr = policy.value(tname) if tname in policy.thresholds else _clean(
            getattr(d, "threshold", None))
        src = policy.source(tname) if tname in policy.thresholds else "detector default"
        if d.alert_type in STRUCTURAL:
            degraded.add(d.feature)
        dd = d.to_dict() if hasattr(d, "to_dict") else dict(vars(d))
        degr_dicts.append({k: (_clean(v) if isinstance(v, float) else v) for k, v in dd.items()})
        alerts.append(Alert(
            key=f"degradation:{d.feature}:{d.alert_type}", kind="degradation", feature=d.feature,
            alert_type=d.alert_type, severity=severity, summary=d.message,
            value=_clean(d.current_value), baseline_value=_clean(d.baseline_value),
            threshold_name=tname, threshold=thr, threshold_source=src,
            action=ACTIONS.get(d.alert_type, ACTIONS["degradation"]), **common,
        ))

    psi_warn, psi_crit = policy.value("psi_warning"), policy.value("psi_critical")
    ks_p, factor = policy.value("ks_p_value"), policy.value("psi_noise_factor")
    checks: list[FeatureCheck] = []
    notes: list[str] = []
    small = []
    for name in feature_names:
        profile = baseline.columns[name]
        if name not in frame.columns:
            checks.append(FeatureCheck(name, profile.kind, "missing", None, None, None, None,
                                       False, 1.0, 0, "critical"))
            continue
        values = frame[name].to_numpy()
        nulls = int(pd.isna(frame[name]).sum())
        n_cur = len(values) - nulls
        r = drift.get(name)
        n_bins = _bin_count(profile)
        n_ref = int(profile.n_rows - profile.n_null)
        floor = psi_noise_floor(n_bins, n_ref, n_cur)
        reliable = factor * floor < psi_warn
        psi = _clean(r.psi) if r is not None else None
        p = _clean(r.p_value) if r is not None else None
        stat = _clean(r.statistic) if r is not None else None
        drift_severity: str | None = None
        if name not in degraded and r is not None and r.test != "missing":
            if reliable and psi is not None and psi >= psi_crit:
                drift_severity = "critical"
            elif reliable and psi is not None and psi >= psi_warn:
                drift_severity = "warning"
            elif p is not None and p < ks_p:
                drift_severity = "info"
        own = [a.severity for a in alerts if a.feature == name]
        feature_severity = (max([drift_severity, *own], key=severity_rank) if own
                            else drift_severity)
        if not reliable and n_cur > 0:
            small.append(name)
        checks.append(FeatureCheck(
            name, profile.kind, r.test if r is not None else "none", stat, p, psi,
            floor if math.isfinite(floor) else None, bool(reliable),
            float(nulls / len(values)) if len(values) else 0.0, n_cur, feature_severity,
            current_bins(profile, values),
        ))
        if drift_severity is not None:
            tname = "psi_critical" if drift_severity == "critical" else (
                "psi_warning" if drift_severity == "warning" else "ks_p_value")
            test = "KS" if (r is not None and r.test == "ks") else "chi-square"
            psi_txt = f"PSI {psi:.3f}" if psi is not None else "PSI n/a"
            p_txt = f"{p:.2g}" if p is not None else "n/a"
            alerts.append(Alert(
                key=f"data_drift:{name}:distribution", kind="data_drift", feature=name,
                alert_type="distribution", severity=drift_severity,
                summary=(f"feature '{name}' shifted: {psi_txt} (no-drift level {floor:.3f}), "
                         f"{test} statistic {stat if stat is not None else float('nan'):.3f}, "
                         f"p={p_txt}"),
                value=psi, baseline_value=0.0, threshold_name=tname,
                threshold=policy.value(tname), threshold_source=policy.source(tname),
                action=ACTIONS["data_drift"], **common,
            ))
    if small:
        notes.append(
            f"window too small for PSI bands on {len(small)} feature(s) (no-drift PSI x "
            f"{factor:g} >= psi_warning {psi_warn:g}); only KS/chi-square info alerts there"
        )
    checks.sort(key=lambda c: (-severity_rank(c.severity), -(c.psi or 0.0)))
    from modelsteward.monitor.joint_checks import joint_checks

    joint, joint_alerts, joint_notes = joint_checks(baseline, current, policy, common)
    return WindowCheck(tuple(checks), tuple(degr_dicts), tuple(alerts + joint_alerts),
                       tuple(notes + joint_notes), tuple(joint))
