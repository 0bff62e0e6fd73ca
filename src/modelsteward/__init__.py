"""modelsteward: a model registry workflow on MLflow and a production drift monitor.

Public names are imported lazily, so ``import modelsteward`` stays fast and does not
import MLflow until a registry function is used. The chapter's example functions
(``train_and_register``, ``load_production_model``) and the demo live in
:mod:`modelsteward.examples`, files are read by :mod:`modelsteward.io`::

    >>> import modelsteward
    >>> "detect_data_drift" in modelsteward.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors
    "StewardError": "modelsteward.errors",
    # baseline
    "Baseline": "modelsteward.baseline",
    "ColumnProfile": "modelsteward.baseline",
    "SketchProfile": "modelsteward.baseline.sketch",
    "profile_dataset": "modelsteward.baseline.streaming",
    # drift
    "DriftResult": "modelsteward.drift",
    "DegradationAlert": "modelsteward.drift",
    "ConceptDriftResult": "modelsteward.drift",
    "detect_data_drift": "modelsteward.drift",
    "compute_psi": "modelsteward.drift",
    "detect_feature_degradation": "modelsteward.drift",
    "detect_concept_drift": "modelsteward.monitor.concept",
    # registry
    "log_training_run": "modelsteward.registry",
    "load_model": "modelsteward.registry",
    "promote": "modelsteward.registry",
    "rollback": "modelsteward.registry",
    "history": "modelsteward.registry",
    "describe": "modelsteward.registry",
    "load_baseline": "modelsteward.registry",
    "current_version": "modelsteward.registry",
    "ModelCard": "modelsteward.registry",
    "set_model_card": "modelsteward.registry",
    # store and serve
    "PredictionLog": "modelsteward.store",
    "ServeConfig": "modelsteward.serve",
    # monitor
    "run_monitor": "modelsteward.monitor",
    "MonitorReport": "modelsteward.monitor",
    "load_policy": "modelsteward.monitor",
    # report
    "write_report": "modelsteward.report",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'modelsteward' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
