"""Fisher z test for a drop in correlation between two independent samples, or against a
known reference correlation (``n_reference=None``).

>>> d = fisher_z_drop(0.905, None, 0.85, 2_000)
>>> round(d.z_drop, 3), round(d.se, 4), d.p_value < 1e-12
(0.243, 0.0224, True)

>>> p = fisher_z_drop_pvalue(0.8, 1000, 0.5, 1000)
>>> p < 1e-12
True
>>> round(fisher_z_drop_pvalue(0.5, 100, 0.5, 100), 6)
0.5
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy import special

from modelsteward.errors import DataError

__all__ = ["FisherZDrop", "fisher_z_drop", "fisher_z_drop_pvalue"]

_R_LIMIT = 1.0 - 1e-12  # |r| = 1 would make atanh infinite


class FisherZDrop(NamedTuple):
    """``z_drop = atanh(r_ref) - atanh(r_cur)`` (Fisher z units), its standard error and the
    one-sided p-value that the current correlation is lower."""

    z_drop: float
    se: float
    p_value: float


def fisher_z_drop(r_reference: float, n_reference: int | None, r_current: float,
                  n_current: float) -> FisherZDrop:
    """The drop in Fisher z units with ``se = sqrt(1/(n_cur - 3) [+ 1/(n_ref - 3)])``.

    ``n_reference=None`` treats the reference correlation as a known constant (only the
    window's sampling error enters). Correlations of +/-1 are clipped to +/-(1 - 1e-12);
    each sample needs at least 4 pairs.
    """
    for name, r in (("r_reference", r_reference), ("r_current", r_current)):
        if not isinstance(r, (int, float)) or not math.isfinite(r) or abs(r) > 1.0 + 1e-9:
            raise DataError(
                f"{name} must be a correlation in [-1, 1], got {r!r}; a constant prediction "
                "or outcome has no correlation, so check the window first"
            )
    sizes = (("n_current", n_current),) if n_reference is None else (
        ("n_reference", n_reference), ("n_current", n_current))
    for name, n in sizes:
        if not math.isfinite(n) or n <= 3:
            raise DataError(f"{name} must be above 3 for the Fisher z test, got {n!r}")
    zr = math.atanh(max(-_R_LIMIT, min(_R_LIMIT, float(r_reference))))
    zc = math.atanh(max(-_R_LIMIT, min(_R_LIMIT, float(r_current))))
    var = 1.0 / (n_current - 3) + (0.0 if n_reference is None else 1.0 / (n_reference - 3))
    se = math.sqrt(var)
    return FisherZDrop(zr - zc, se, float(special.ndtr(-(zr - zc) / se)))


def fisher_z_drop_pvalue(
    r_reference: float, n_reference: int | None, r_current: float, n_current: float
) -> float:
    """One-sided p-value that the current correlation is lower than the reference one.

    ``z = (atanh(r_ref) - atanh(r_cur)) / sqrt(1/(n_ref - 3) + 1/(n_cur - 3))`` and
    ``p = P(Z >= z)``: small when the current correlation dropped (see
    :func:`fisher_z_drop`).
    """
    return fisher_z_drop(r_reference, n_reference, r_current, n_current).p_value
