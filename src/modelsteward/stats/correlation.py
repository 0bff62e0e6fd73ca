"""Fisher z test for a drop in correlation between two independent samples.

>>> p = fisher_z_drop_pvalue(0.8, 1000, 0.5, 1000)
>>> p < 1e-12
True
>>> round(fisher_z_drop_pvalue(0.5, 100, 0.5, 100), 6)
0.5
"""

from __future__ import annotations

import math

from scipy import special

from modelsteward.errors import DataError

__all__ = ["fisher_z_drop_pvalue"]

_R_LIMIT = 1.0 - 1e-12  # |r| = 1 would make atanh infinite


def fisher_z_drop_pvalue(
    r_reference: float, n_reference: int, r_current: float, n_current: float
) -> float:
    """One-sided p-value that the current correlation is lower than the reference one.

    ``z = (atanh(r_ref) - atanh(r_cur)) / sqrt(1/(n_ref - 3) + 1/(n_cur - 3))`` and
    ``p = P(Z >= z)``: small when the current correlation dropped. Correlations of +/-1 are
    clipped to +/-(1 - 1e-12). Each sample needs at least 4 pairs.
    """
    for name, r in (("r_reference", r_reference), ("r_current", r_current)):
        if not isinstance(r, (int, float)) or not math.isfinite(r) or abs(r) > 1.0 + 1e-9:
            raise DataError(
                f"{name} must be a correlation in [-1, 1], got {r!r}; a constant prediction "
                "or outcome has no correlation, so check the window first"
            )
    for name, n in (("n_reference", n_reference), ("n_current", n_current)):
        if not math.isfinite(n) or n <= 3:
            raise DataError(f"{name} must be above 3 for the Fisher z test, got {n!r}")
    zr = math.atanh(max(-_R_LIMIT, min(_R_LIMIT, float(r_reference))))
    zc = math.atanh(max(-_R_LIMIT, min(_R_LIMIT, float(r_current))))
    z = (zr - zc) / math.sqrt(1.0 / (n_reference - 3) + 1.0 / (n_current - 3))
    return float(special.ndtr(-z))
