"""The detectors: data drift (KS, chi-square, PSI), feature degradation, concept drift.

Concept drift per time window (cutting the data into windows) is the monitor's:
:func:`modelsteward.monitor.concept.detect_concept_drift`.

>>> from modelsteward.drift import detect_data_drift, detect_feature_degradation
"""

from __future__ import annotations

from modelsteward.drift.concept import ConceptDriftResult, concept_drift_per_window
from modelsteward.drift.data_drift import detect_data_drift
from modelsteward.drift.degradation import detect_feature_degradation, expected_distinct
from modelsteward.drift.psi import compute_psi
from modelsteward.drift.results import ALERT_TYPES, DegradationAlert, DriftResult

__all__ = [
    "ALERT_TYPES",
    "ConceptDriftResult",
    "DegradationAlert",
    "DriftResult",
    "compute_psi",
    "concept_drift_per_window",
    "detect_data_drift",
    "detect_feature_degradation",
    "expected_distinct",
]
