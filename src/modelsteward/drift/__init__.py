"""The detectors: data drift (KS, chi-square, PSI), feature degradation, concept drift.

>>> from modelsteward.drift import detect_data_drift, detect_feature_degradation
"""

from __future__ import annotations

from modelsteward.drift.data_drift import detect_data_drift
from modelsteward.drift.degradation import detect_feature_degradation, expected_distinct
from modelsteward.drift.psi import compute_psi
from modelsteward.drift.results import ALERT_TYPES, DegradationAlert, DriftResult

__all__ = [
    "ALERT_TYPES",
    "DegradationAlert",
    "DriftResult",
    "compute_psi",
    "detect_data_drift",
    "detect_feature_degradation",
    "expected_distinct",
]

# concept drift (drift/concept.py, owned by the monitor part)
try:
    from modelsteward.drift.concept import ConceptDriftResult, detect_concept_drift

    __all__ += ["ConceptDriftResult", "detect_concept_drift"]
except ImportError:  # pragma: no cover - until drift/concept.py lands
    pass
