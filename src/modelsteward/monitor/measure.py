"""Measure one window: the typed statistics every judgement is made from, computed once.

A :class:`WindowMeasurement` holds, per feature, the drift statistics (KS or chi-square,
p-value, PSI with its no-drift level, null rate, the window's share in each reference bin),
the degradation findings, the joint checks, the concept-drift statistics and the row counts.
Nothing in it is a verdict: :mod:`modelsteward.monitor.judge` turns it into alerts under a
policy, so ``steward calibrate`` measures each window once and judges it under every
candidate. It round-trips through ``to_dict``/``from_dict`` (JSON), so a state store can keep it.

Three rule families take a threshold *inside* the rule: the degradation rules (``null_rate``,
``variance_ratio``, ``cardinality_ratio``, whose messages name the threshold) and the joint
checks (``joint_alpha``, ``classifier_p_value``, ``classifier_min_auc``). Their findings are
measured once per distinct set of those thresholds among the policies the measurement is for
(:func:`measure_keys`); everything else is measured once.

    >>> import numpy as np, pandas as pd
    >>> from modelsteward.baseline import Baseline
    >>> from modelsteward.monitor.policy import load_policy
    >>> rng = np.random.default_rng(0)
    >>> base = Baseline.fit({"x": rng.normal(size=2_000)})
    >>> m = measure_window(base, pd.DataFrame({"x": rng.normal(1.0, 1.0, 500)}), index=0,
    ...                    label="w", policies=[load_policy("default")])
    >>> m.features[0].feature, m.features[0].psi > 0.5
    ('x', True)
    >>> WindowMeasurement.from_dict(m.to_dict()) == m
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.drift import detect_data_drift, detect_feature_degradation
from modelsteward.drift.concept import ConceptDriftResult
from modelsteward.drift.multivariate import (
    MultivariateDriftResult,
    detect_classifier_drift,
    detect_reconstruction_drift,
)
from modelsteward.drift.results import DegradationAlert
from modelsteward.errors import StewardError
from modelsteward.monitor.bins import bin_count, current_bins, psi_noise_floor
from modelsteward.monitor.policy import Policy

__all__ = ["DEGRADATION_KEYS", "JOINT_KEYS", "MEASURES", "FeatureMeasurement", "JointFindings",
           "WindowMeasurement", "clean_float", "measure_keys", "measure_window"]

#: policy thresholds the degradation rules take inside the rule
DEGRADATION_KEYS = ("null_rate", "variance_ratio", "cardinality_ratio")
#: policy thresholds the joint checks take inside the check
JOINT_KEYS = ("joint_alpha", "classifier_p_value", "classifier_min_auc")

#: extra measurements (issue 11's performance, plug-ins): ``(name, fn)``; ``fn(baseline,
#: rows, measurement)`` returns a JSON-able dict stored under ``measurement.extra[name]``
MEASURES: list[tuple[str, Callable[[Any, pd.DataFrame, WindowMeasurement], dict[str, Any]]]] = []


def clean_float(value: Any) -> float | None:
    """A finite float, or None (NaN, inf, None and non-numbers)."""
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def _key(policy: Policy, names: Sequence[str]) -> tuple[float, ...]:
    return tuple(float(policy.value(n)) for n in names)


def measure_keys(policies: Sequence[Policy], names: Sequence[str]) -> list[tuple[float, ...]]:
    """The distinct threshold tuples of ``names`` among ``policies`` (first seen first)."""
    out: list[tuple[float, ...]] = []
    for p in policies:
        k = _key(p, names)
        if k not in out:
            out.append(k)
    return out


@dataclass(frozen=True)
class FeatureMeasurement:
    """One feature in one window: figures only, no verdict (``test="missing"``: absent)."""

    feature: str
    kind: str
    test: str
    statistic: float | None
    p_value: float | None
    psi: float | None
    psi_noise_floor: float | None
    null_rate: float
    n_current: int
    current: list[float] | None = None  # proportions in the reference bins
    mode: str = "exact"  # "sketch": statistic and PSI within the bounds below
    statistic_bound: float = 0.0
    psi_bound: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class JointFindings:
    """The joint checks run under one set of :data:`JOINT_KEYS` thresholds."""

    thresholds: tuple[float, ...]
    results: tuple[MultivariateDriftResult, ...] = ()
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"thresholds": list(self.thresholds), "results": [r.to_dict() for r in self.results],
                "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> JointFindings:
        results = []
        for r in d["results"]:
            r = dict(r)
            r["top_features"] = tuple((t["feature"], t["score"]) for t in r["top_features"])
            r["notes"] = tuple(r["notes"])
            results.append(MultivariateDriftResult(**r))
        return cls(tuple(d["thresholds"]), tuple(results), tuple(d["notes"]))


def _ts(value: str | None) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value)


def _concept_from_dict(d: dict[str, Any] | None) -> ConceptDriftResult | None:
    if d is None:
        return None
    return ConceptDriftResult(**{**d, "window_start": _ts(d["window_start"]),
                                 "window_end": _ts(d["window_end"])})


@dataclass(frozen=True)
class WindowMeasurement:
    """Everything measured in one window; judged into alerts by
    :func:`modelsteward.monitor.judge.judge_window`.

    ``n_rows`` counts the usable rows; ``measured`` is False when the window had fewer rows
    than every policy's ``min_window_rows`` (then only counts and concept are there).
    ``degradation`` maps each :data:`DEGRADATION_KEYS` threshold tuple to its findings.
    """

    index: int
    label: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    n_rows: int
    measured: bool = True
    features: tuple[FeatureMeasurement, ...] = ()
    degradation: tuple[tuple[tuple[float, ...], tuple[DegradationAlert, ...]], ...] = ()
    joint: tuple[JointFindings, ...] = ()
    concept: ConceptDriftResult | None = None
    model_versions: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def degradation_for(self, policy: Policy) -> tuple[DegradationAlert, ...]:
        """The degradation findings under ``policy``'s thresholds."""
        key = _key(policy, DEGRADATION_KEYS)
        for k, found in self.degradation:
            if tuple(k) == key:
                return found
        raise StewardError(f"window {self.label} was not measured with degradation thresholds "
                           f"{dict(zip(DEGRADATION_KEYS, key, strict=True))}; measure it with "
                           "this policy among measure_window's policies")

    def joint_for(self, policy: Policy) -> JointFindings | None:
        """The joint checks under ``policy``'s thresholds (None: the baseline has none)."""
        if not self.joint:
            return None
        key = _key(policy, JOINT_KEYS)
        for j in self.joint:
            if tuple(j.thresholds) == key:
                return j
        raise StewardError(f"window {self.label} was not measured with joint thresholds "
                           f"{dict(zip(JOINT_KEYS, key, strict=True))}; measure it with this "
                           "policy among measure_window's policies")

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index, "label": self.label,
            "start": None if self.start is None else self.start.isoformat(),
            "end": None if self.end is None else self.end.isoformat(),
            "n_rows": self.n_rows, "measured": self.measured,
            "features": [f.to_dict() for f in self.features],
            "degradation": [{"thresholds": list(k), "findings": [a.to_dict() for a in found]}
                            for k, found in self.degradation],
            "joint": [j.to_dict() for j in self.joint],
            "concept": None if self.concept is None else self.concept.to_dict(),
            "model_versions": dict(self.model_versions), "skipped": dict(self.skipped),
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WindowMeasurement:
        """The inverse of :meth:`to_dict`."""
        return cls(
            index=int(d["index"]), label=d["label"], start=_ts(d["start"]), end=_ts(d["end"]),
            n_rows=int(d["n_rows"]), measured=bool(d["measured"]),
            features=tuple(FeatureMeasurement(**f) for f in d["features"]),
            degradation=tuple((tuple(g["thresholds"]),
                               tuple(DegradationAlert(**a) for a in g["findings"]))
                              for g in d["degradation"]),
            joint=tuple(JointFindings.from_dict(j) for j in d["joint"]),
            concept=_concept_from_dict(d["concept"]),
            model_versions=dict(d["model_versions"]), skipped=dict(d["skipped"]),
            extra=dict(d.get("extra", {})),
        )


def measure_features(baseline: Any, current: Any, present: Sequence[str],
                     null_counts: dict[str, int], n_rows: int,
                     bins: Callable[[str, Any], list[float] | None],
                     **drift_kwargs: Any) -> tuple[FeatureMeasurement, ...]:
    """Per-feature figures from any current data ``detect_data_drift`` reads (a frame, a
    sketch profile): ``null_counts`` and ``n_rows`` count the window, ``bins(name, profile)``
    gives the window's shares in the reference bins."""
    drift = {r.feature: r for r in detect_data_drift(baseline, current, **drift_kwargs)}
    out: list[FeatureMeasurement] = []
    for name in baseline.feature_names:
        profile = baseline.columns[name]
        if name not in present:
            out.append(FeatureMeasurement(name, profile.kind, "missing", None, None, None, None,
                                          1.0, 0))
            continue
        nulls = int(null_counts.get(name, 0))
        n_cur = n_rows - nulls
        r = drift.get(name)
        floor = psi_noise_floor(bin_count(profile), int(profile.n_rows - profile.n_null), n_cur)
        out.append(FeatureMeasurement(
            name, profile.kind, r.test if r is not None else "none",
            clean_float(r.statistic) if r is not None else None,
            clean_float(r.p_value) if r is not None else None,
            clean_float(r.psi) if r is not None else None,
            floor if math.isfinite(floor) else None,
            float(nulls / n_rows) if n_rows else 0.0, n_cur, bins(name, profile),
            r.mode if r is not None else "exact",
            (clean_float(r.statistic_bound) or 0.0) if r is not None else 0.0,
            (clean_float(r.psi_bound) or 0.0) if r is not None else 0.0,
        ))
    return tuple(out)


def measure_degradation(baseline: Any, current: Any, policies: Sequence[Policy],
                        **kwargs: Any) -> tuple[tuple[tuple[float, ...],
                                                      tuple[DegradationAlert, ...]], ...]:
    """The degradation rules once per distinct threshold set of ``policies``."""
    return tuple(
        (key, tuple(detect_feature_degradation(
            baseline, current, null_rate_threshold=key[0], variance_ratio_threshold=key[1],
            cardinality_ratio_threshold=key[2], **kwargs)))
        for key in measure_keys(policies, DEGRADATION_KEYS))


def measure_joint(baseline: Any, window: dict[str, np.ndarray],
                  policies: Sequence[Policy]) -> tuple[JointFindings, ...]:
    """The joint checks once per distinct threshold set (none without a joint reference)."""
    ref = getattr(baseline, "joint", None)
    if ref is None:
        return ()
    out = []
    for key in measure_keys(policies, JOINT_KEYS):
        try:
            rec = detect_reconstruction_drift(ref, window, alpha=key[0])
            clf = detect_classifier_drift(ref, window, p_threshold=key[1], min_auc=key[2])
        except StewardError as exc:
            out.append(JointFindings(key, (), (f"multivariate checks not run: {exc}",)))
            continue
        out.append(JointFindings(key, (rec, clf), (*rec.notes, *clf.notes)))
    return tuple(out)


def measure_window(
    baseline: Any, rows: pd.DataFrame, *, index: int, label: str, policies: Sequence[Policy],
    start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
    concept: ConceptDriftResult | None = None, skipped: dict[str, int] | None = None,
) -> WindowMeasurement:
    """Measure the usable ``rows`` of one window for judging under any of ``policies``."""
    versions: dict[str, int] = {}
    if "model_version" in rows.columns:
        versions = {str(k): int(v) for k, v in rows["model_version"].value_counts().items()}
    n = len(rows)
    common: dict[str, Any] = dict(index=index, label=label, start=start, end=end, n_rows=n,
                                  concept=concept, model_versions=versions,
                                  skipped=dict(skipped or {}))
    if n == 0 or n < min(int(p.value("min_window_rows")) for p in policies):
        return WindowMeasurement(measured=False, **common)
    present = [f for f in baseline.feature_names if f in rows.columns]
    current = rows[present]
    nulls = {f: int(current[f].isna().sum()) for f in present}
    features = measure_features(
        baseline, current, present, nulls, n,
        lambda name, profile: current_bins(profile, current[name].to_numpy()),
        p_threshold=float(policies[0].value("ks_p_value")))
    degradation = measure_degradation(baseline, current, policies)
    joint_ref = getattr(baseline, "joint", None)
    window = ({c: current[c].to_numpy() for c in joint_ref.columns if c in current.columns}
              if joint_ref is not None else {})
    m = WindowMeasurement(features=features, degradation=degradation,
                          joint=measure_joint(baseline, window, policies), **common)
    if MEASURES:
        m = WindowMeasurement(**{**m.__dict__, "extra": {
            name: fn(baseline, rows, m) for name, fn in MEASURES}})
    return m
