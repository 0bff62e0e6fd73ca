"""Multiple-testing adjustments: Bonferroni and Benjamini-Hochberg (adjusted p-values).

>>> bonferroni([0.01, 0.04, 0.5]).tolist()
[0.03, 0.12, 1.0]
>>> [round(x, 6) for x in benjamini_hochberg([0.01, 0.04, 0.03]).tolist()]
[0.03, 0.04, 0.04]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from modelsteward.errors import DataError

__all__ = ["benjamini_hochberg", "bonferroni"]


def _check(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if p.size and (np.isnan(p).any() or (p < 0).any() or (p > 1).any()):
        raise DataError("p-values must be numbers in [0, 1] (no NaN)")
    return p


def bonferroni(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Bonferroni-adjusted p-values: ``min(p * m, 1)``."""
    p = _check(p_values)
    return np.minimum(p * p.size, 1.0)


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values in input order (scipy's false_discovery_control)."""
    p = _check(p_values)
    if p.size == 0:
        return p
    return np.asarray(stats.false_discovery_control(p, method="bh"), dtype=np.float64)
