"""The multivariate checks of one window as alerts under the policy (measured by
:func:`modelsteward.monitor.measure.measure_joint`).

Run only when the baseline carries a joint reference (``Baseline.fit(..., joint=True)``).
Both checks raise ``warning`` alerts (a joint change is a reason to look, and names the
features that moved together); they then go through the same fatigue control and sinks as
every other alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelsteward.drift.multivariate import MultivariateDriftResult
from modelsteward.monitor.alerts import Alert
from modelsteward.monitor.policy import Policy

__all__ = ["ACTION", "joint_alerts"]

ACTION = ("features changed how they move together while each may look unchanged alone: "
          "inspect the named features jointly (segment mix, a broken join, a new population) "
          "and check predictions on the affected rows")


def _names(r: MultivariateDriftResult) -> str:
    return ", ".join(f for f, _ in r.top_features[:3]) or "no single feature stands out"


def joint_alerts(results: Sequence[MultivariateDriftResult], policy: Policy,
                 common: dict[str, Any]) -> list[Alert]:
    """The warnings of the measured reconstruction and domain-classifier checks."""
    alerts: list[Alert] = []
    by_method = {r.method: r for r in results}
    rec, clf = by_method.get("reconstruction"), by_method.get("classifier")
    if rec is not None and rec.is_drifted:
        alerts.append(Alert(
            key="multivariate:reconstruction", kind="multivariate_drift", feature=None,
            alert_type="reconstruction_error", severity="warning",
            summary=(f"joint shape changed: mean PCA reconstruction error {rec.statistic:.3f} "
                     f"outside the no-change band [{rec.lower:.3f}, {rec.upper:.3f}] for "
                     f"{rec.n} rows; most changed: {_names(rec)}"),
            value=rec.statistic, baseline_value=rec.reference_value,
            threshold_name="joint_alpha", threshold=policy.value("joint_alpha"),
            threshold_source=policy.source("joint_alpha"), action=ACTION, **common))
    if clf is not None and clf.is_drifted:
        alerts.append(Alert(
            key="multivariate:classifier", kind="multivariate_drift", feature=None,
            alert_type="domain_classifier", severity="warning",
            summary=(f"a classifier tells this window from the reference: AUC {clf.statistic:.3f}"
                     f" (p={clf.p_value:.2g}); it leans on {_names(clf)}"),
            value=clf.statistic, baseline_value=0.5, threshold_name="classifier_p_value",
            threshold=policy.value("classifier_p_value"),
            threshold_source=policy.source("classifier_p_value"), action=ACTION, **common))
    return alerts
