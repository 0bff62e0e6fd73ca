"""The fitted reference: one profile per column, fitted once, saved with the model version.

>>> import numpy as np
>>> from modelsteward.baseline import Baseline
>>> Baseline.fit({"x": np.arange(10.0)}).columns["x"].kind
'numeric'
"""

from __future__ import annotations

from modelsteward.baseline.baseline import BASELINE_FILE, FORMAT_VERSION, Baseline
from modelsteward.baseline.columns import CATEGORICAL, NUMERIC, as_columns, infer_kind
from modelsteward.baseline.concept import ConceptReference
from modelsteward.baseline.profile import ColumnProfile, profile_column
from modelsteward.baseline.summary import ColumnSummary, ExactColumn

__all__ = [
    "BASELINE_FILE",
    "CATEGORICAL",
    "FORMAT_VERSION",
    "NUMERIC",
    "Baseline",
    "ColumnProfile",
    "ColumnSummary",
    "ConceptReference",
    "ExactColumn",
    "as_columns",
    "infer_kind",
    "profile_column",
]
