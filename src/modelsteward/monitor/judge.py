"""Judge one measured window under a policy: severities per feature and the alerts.

The judge never touches data: it reads a :class:`~modelsteward.monitor.measure.WindowMeasurement`
and a :class:`~modelsteward.monitor.policy.Policy`. The built-in rules are the degradation
findings, the per-feature drift bands (PSI warning/critical where the window is large enough
for PSI, else KS/chi-square ``info``), the joint checks and concept drift.

Extension point: ``judges`` (default :data:`JUDGES`, empty) are extra functions
``fn(measurement, policy, context) -> Sequence[Alert]``; their alerts join the window's and
go through the same fatigue control, sinks and report (issue 11's performance rules plug in
here, reading what a :data:`~modelsteward.monitor.measure.MEASURES` function stored in
``measurement.extra``).

    >>> import numpy as np, pandas as pd
    >>> from modelsteward.baseline import Baseline
    >>> from modelsteward.monitor.measure import measure_window
    >>> from modelsteward.monitor.policy import load_policy
    >>> rng = np.random.default_rng(0)
    >>> base = Baseline.fit({"x": rng.normal(size=2_000)})
    >>> pols = [load_policy("lenient"), load_policy("strict")]
    >>> m = measure_window(base, pd.DataFrame({"x": rng.normal(0.3, 1.0, 500)}), index=0,
    ...                    label="w", policies=pols)
    >>> ctx = JudgeContext("m", "1")
    >>> [[a.severity for a in judge_window(m, p, ctx).alerts] for p in pols]
    [['info'], ['warning']]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from modelsteward.drift.concept import ConceptDriftResult, judge_concept
from modelsteward.monitor.alerts import ACTIONS, Alert
from modelsteward.monitor.joint_checks import joint_alerts
from modelsteward.monitor.measure import FeatureMeasurement, WindowMeasurement, clean_float
from modelsteward.monitor.policy import Policy, severity_rank

__all__ = ["JUDGES", "DEGRADATION_SEVERITY", "FeatureCheck", "Judge", "JudgeContext",
           "WindowJudgement", "concept_alert", "judge_concept_result", "judge_window"]

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


@dataclass(frozen=True)
class JudgeContext:
    """What a judgement needs besides the measurement and the policy."""

    model_name: str
    model_version: str

    def common(self, m: WindowMeasurement) -> dict[str, Any]:
        """The fields every :class:`Alert` of window ``m`` shares."""
        return dict(window_index=m.index, window_label=m.label, model_name=self.model_name,
                    model_version=str(self.model_version))


Judge = Callable[[WindowMeasurement, Policy, JudgeContext], Sequence[Alert]]
#: extra judges run after the built-in rules on every measured window (see the module doc)
JUDGES: list[Judge] = []


@dataclass(frozen=True)
class FeatureCheck(FeatureMeasurement):
    """One feature in one window: its measurement, whether the window is large enough for PSI
    bands there (``psi_reliable``) and the verdict (``severity``)."""

    psi_reliable: bool = False
    severity: str | None = None

    @classmethod
    def judged(cls, f: FeatureMeasurement, psi_reliable: bool,
               severity: str | None) -> FeatureCheck:
        return cls(**{k.name: getattr(f, k.name) for k in fields(FeatureMeasurement)},
                   psi_reliable=psi_reliable, severity=severity)


@dataclass(frozen=True)
class WindowJudgement:
    """A measured window under one policy."""

    features: tuple[FeatureCheck, ...]
    degradation: tuple[dict[str, Any], ...]
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    multivariate: tuple[dict[str, Any], ...] = ()
    concept: ConceptDriftResult | None = None
    broken: tuple[str, ...] = ()  # features with a structural break (null, constant, missing)


def explained_by_breaks(alert: Alert, broken: Sequence[str]) -> Alert:
    """A model-level alert (correlation or performance drop) in a window whose inputs broke
    upstream: the break explains the drop, so it is not called concept drift. A correlation
    drop becomes ``info`` (the degradation alerts are the ones to act on); a realized
    performance drop diagnosed as concept drift keeps its severity, is called a performance
    drop and says what to fix first.
    """
    if not broken or alert.severity == "info" or (
            alert.kind != "concept_drift" and alert.alert_type != "concept_drift"):
        return alert  # an early warning or covariate shift already points at the inputs
    names = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
    why = (f"; the inputs broke upstream in this window ({names}: see the degradation alerts), "
           "which explains the drop: fix the pipeline first, then re-check")
    if alert.kind == "concept_drift":
        return replace(alert, severity="info", summary=alert.summary + why,
                       action=ACTIONS["degradation"])
    return replace(alert, alert_type="performance_drop", summary=alert.summary + why,
                   action=ACTIONS["degradation"])


def judge_concept_result(c: ConceptDriftResult | None,
                         policy: Policy) -> ConceptDriftResult | None:
    """A measured concept result decided under ``policy``'s concept thresholds."""
    if c is None:
        return None
    return judge_concept(c, p_threshold=float(policy.value("concept_p_value")),
                         min_drop=float(policy.value("concept_min_drop")),
                         min_samples=max(4, int(policy.value("min_labelled_rows"))))


def concept_alert(r: ConceptDriftResult, policy: Policy, common: dict[str, Any]) -> Alert | None:
    """The concept-drift alert of a judged result (critical drift, or an info-level drop)."""
    if r.status == "insufficient_data" or r.correlation is None or r.p_value is None:
        return None
    if r.is_drifted:
        severity, tname = "critical", "concept_min_drop"
    elif r.p_value < r.p_threshold:
        severity, tname = "info", "concept_p_value"
    else:
        return None
    perf = ", ".join(f"{k} {v:.3f}" for k, v in r.performance.items())
    return Alert(
        key="concept_drift:prediction_outcome:correlation", kind="concept_drift", feature=None,
        alert_type="correlation_drop", severity=severity,
        summary=(f"prediction-outcome correlation fell from {r.reference_correlation:.3f} to "
                 f"{r.correlation:.3f} (drop {r.drop:.3f}, Fisher z p={r.p_value:.2g}, "
                 f"{r.n} labelled rows, coverage {r.coverage:.0%}"
                 + (f"; {perf}" if perf else "") + ")"),
        value=r.correlation, baseline_value=r.reference_correlation, threshold_name=tname,
        threshold=policy.value(tname), threshold_source=policy.source(tname),
        action=ACTIONS["concept_drift"], **common,
    )


def _degradation(m: WindowMeasurement, policy: Policy, common: dict[str, Any]
                 ) -> tuple[list[Alert], list[dict[str, Any]], set[str]]:
    alerts: list[Alert] = []
    dicts: list[dict[str, Any]] = []
    degraded: set[str] = set()
    for d in m.degradation_for(policy):
        tname = DEGRADATION_THRESHOLD.get(d.alert_type, d.alert_type)
        known = tname in policy.thresholds
        if d.alert_type in STRUCTURAL:
            degraded.add(d.feature)
        dicts.append({k: (clean_float(v) if isinstance(v, float) else v)
                      for k, v in d.to_dict().items()})
        alerts.append(Alert(
            key=f"degradation:{d.feature}:{d.alert_type}", kind="degradation", feature=d.feature,
            alert_type=d.alert_type, severity=DEGRADATION_SEVERITY.get(d.alert_type, "warning"),
            summary=d.message, value=clean_float(d.current_value),
            baseline_value=clean_float(d.baseline_value), threshold_name=tname,
            threshold=policy.value(tname) if known else clean_float(d.threshold),
            threshold_source=policy.source(tname) if known else "detector default",
            action=ACTIONS.get(d.alert_type, ACTIONS["degradation"]), **common,
        ))
    return alerts, dicts, degraded


def _features(m: WindowMeasurement, policy: Policy, common: dict[str, Any],
              own: list[Alert], degraded: set[str]) -> tuple[list[FeatureCheck], list[Alert],
                                                          list[str]]:
    psi_warn, psi_crit = policy.value("psi_warning"), policy.value("psi_critical")
    ks_p, factor = policy.value("ks_p_value"), policy.value("psi_noise_factor")
    checks: list[FeatureCheck] = []
    alerts: list[Alert] = []
    small: list[str] = []
    for f in m.features:
        if f.test == "missing":
            checks.append(FeatureCheck.judged(f, False, "critical"))
            continue
        floor = f.psi_noise_floor
        reliable = floor is not None and factor * floor < psi_warn
        psi, p, stat = f.psi, f.p_value, f.statistic
        severity: str | None = None
        if f.feature not in degraded and f.test != "none":
            if reliable and psi is not None and psi >= psi_crit:
                severity = "critical"
            elif reliable and psi is not None and psi >= psi_warn:
                severity = "warning"
            elif p is not None and p < ks_p:
                severity = "info"
        mine = [a.severity for a in own if a.feature == f.feature]
        worst = max([severity, *mine], key=severity_rank) if mine else severity
        if not reliable and f.n_current > 0:
            small.append(f.feature)
        checks.append(FeatureCheck.judged(f, bool(reliable), worst))
        if severity is None:
            continue
        tname = {"critical": "psi_critical", "warning": "psi_warning"}.get(severity, "ks_p_value")
        test = "KS" if f.test == "ks" else "chi-square"
        psi_txt = f"PSI {psi:.3f}" if psi is not None else "PSI n/a"
        p_txt = f"{p:.2g}" if p is not None else "n/a"
        floor_v = floor if floor is not None else float("inf")
        alerts.append(Alert(
            key=f"data_drift:{f.feature}:distribution", kind="data_drift", feature=f.feature,
            alert_type="distribution", severity=severity,
            summary=(f"feature '{f.feature}' shifted: {psi_txt} (no-drift level {floor_v:.3f}), "
                     f"{test} statistic {stat if stat is not None else float('nan'):.3f}, "
                     f"p={p_txt}"),
            value=psi, baseline_value=0.0, threshold_name=tname, threshold=policy.value(tname),
            threshold_source=policy.source(tname), action=ACTIONS["data_drift"], **common,
        ))
    notes = []
    if small:
        notes.append(
            f"window too small for PSI bands on {len(small)} feature(s) (no-drift PSI x "
            f"{factor:g} >= psi_warning {psi_warn:g}); only KS/chi-square info alerts there"
        )
    checks.sort(key=lambda c: (-severity_rank(c.severity), -(c.psi or 0.0)))
    return checks, alerts, notes


def judge_window(m: WindowMeasurement, policy: Policy, context: JudgeContext,
                 judges: Sequence[Judge] | None = None) -> WindowJudgement:
    """The alerts of a measured window (``m.measured``) under ``policy``: degradation,
    data drift, joint checks, concept drift, then each of ``judges`` (default :data:`JUDGES`).
    """
    common = context.common(m)
    own, degr, degraded = _degradation(m, policy, common)
    checks, drift, notes = _features(m, policy, common, own, degraded)
    joint = m.joint_for(policy)
    alerts = [*own, *drift]
    multivariate: tuple[dict[str, Any], ...] = ()
    if joint is not None:
        alerts += joint_alerts(joint.results, policy, common)
        notes += list(joint.notes)
        multivariate = tuple(r.to_dict() for r in joint.results)
    concept = judge_concept_result(m.concept, policy)
    broken = tuple(sorted(degraded))
    ca = concept_alert(concept, policy, common) if concept is not None else None
    if ca is not None:
        alerts.append(explained_by_breaks(ca, broken))
    for fn in (JUDGES if judges is None else judges):
        alerts += list(fn(m, policy, context))
    return WindowJudgement(tuple(checks), tuple(degr), tuple(alerts), tuple(notes),
                           multivariate, concept, broken)
