"""KS and PSI decisions from quantile sketches, with the sketches' error carried in.

A quantile sketch answers every rank query within a stated normalized rank error ``e``
(with 99% confidence, for all queries at once). Two CDFs each off by at most ``e_ref`` and
``e_cur`` give a KS distance off by at most ``e_ref + e_cur``; so the distance from two sketches
is reported as ``D ± bound`` and drift is declared only when even ``D - bound`` exceeds the KS
critical value (and the minimum effect size). PSI from sketched bin proportions gets an interval
the same way. Pure numpy/scipy: callers pass CDF values, not sketches.

    >>> import numpy as np
    >>> d, bound = ks_distance_with_bound(np.array([0.2, 0.6, 1.0]), np.array([0.1, 0.4, 1.0]),
    ...                                    0.01, 0.01)
    >>> round(d, 3), bound
    (0.2, 0.02)
    >>> r = ks_decision(d, bound, 1000, 1000, p_threshold=0.01)
    >>> r.is_significant, round(r.critical_value, 4) < 0.18 - 1e-9
    (True, True)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from modelsteward._params import NON_NEGATIVE, P_THRESHOLD, Interval, validate_params
from modelsteward.stats.ks import ks_critical_value, ks_pvalue, ks_pvalue_asymptotic

__all__ = [
    "PsiInterval",
    "SketchKSResult",
    "ks_decision",
    "ks_distance_with_bound",
    "psi_with_bound",
]


def ks_distance_with_bound(
    cdf_ref: np.ndarray, cdf_cur: np.ndarray, rank_error_ref: float, rank_error_cur: float
) -> tuple[float, float]:
    """(D, bound): the largest CDF gap over the evaluation points and its error bound.

    Evaluate both sketch CDFs (``P(X <= x)``) at the union of both sketches' retained items:
    the sketch CDFs are step functions that only move there, so this is the exact supremum of
    the gap between the two sketch CDFs, within ``rank_error_ref + rank_error_cur`` of the
    exact KS distance.
    """
    a = np.asarray(cdf_ref, dtype=np.float64)
    b = np.asarray(cdf_cur, dtype=np.float64)
    d = float(np.max(np.abs(a - b))) if a.size else 0.0
    return min(max(d, 0.0), 1.0), float(rank_error_ref) + float(rank_error_cur)


@dataclass(frozen=True)
class SketchKSResult:
    """A KS decision from sketches: the distance, its bound, and what the decision used."""

    statistic: float  # D from the sketches
    bound: float  # |D - exact D| <= bound (99% confidence per sketch)
    statistic_lower: float  # max(D - bound, 0): the distance the decision uses
    p_value: float  # p-value of statistic_lower (the conservative one)
    p_value_point: float  # p-value of D itself, for reference
    p_threshold: float
    min_effect: float
    is_significant: bool
    n_reference: int = 0
    n_current: int = 0

    @property
    def critical_value(self) -> float:
        """KS critical value at ``p_threshold`` for these sizes (asymptotic; computed on
        demand: the decision itself compares the p-value)."""
        return ks_critical_value(self.p_threshold, self.n_reference, self.n_current)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "critical_value": self.critical_value}


@validate_params(
    {"p_threshold": P_THRESHOLD, "min_effect": NON_NEGATIVE, "d": [Interval("real", 0.0, 1.0)],
     "bound": NON_NEGATIVE, "n_ref": [Interval("int", 0, None)],
     "n_cur": [Interval("int", 0, None)]}
)
def ks_decision(
    d: float,
    bound: float,
    n_ref: int,
    n_cur: int,
    *,
    p_threshold: float = 0.01,
    min_effect: float = 0.0,
) -> SketchKSResult:
    """Declare a difference only when ``D - bound`` is significant and at least ``min_effect``.

    The p-value is the one of :func:`~modelsteward.stats.ks.ks_pvalue`: with ``bound == 0``
    (sketches still exact) exactly what ``scipy.stats.ks_2samp`` reports for that distance,
    else the asymptotic one of ``D - bound`` (the conservative end).

    >>> ks_decision(0.02, 0.003, 10**6, 10**6).is_significant
    True
    >>> ks_decision(0.004, 0.003, 10**6, 10**6).is_significant  # exact D could be 0.001
    False
    """
    lower = max(float(d) - float(bound), 0.0)
    if n_ref <= 0 or n_cur <= 0:
        p_lower = p_point = 1.0
    elif bound == 0:
        p_lower = p_point = ks_pvalue(lower, n_ref, n_cur)[1]
    else:
        p_lower = ks_pvalue_asymptotic(lower, n_ref, n_cur)
        p_point = ks_pvalue_asymptotic(d, n_ref, n_cur)
    significant = bool(p_lower < p_threshold and lower >= min_effect and n_ref > 0 and n_cur > 0)
    return SketchKSResult(
        statistic=float(d),
        bound=float(bound),
        statistic_lower=lower,
        p_value=p_lower,
        p_value_point=p_point,
        p_threshold=float(p_threshold),
        min_effect=float(min_effect),
        is_significant=significant,
        n_reference=int(n_ref),
        n_current=int(n_cur),
    )


@dataclass(frozen=True)
class PsiInterval:
    """PSI from sketched proportions, and the interval the exact PSI lies in."""

    psi: float
    lower: float
    upper: float

    @property
    def bound(self) -> float:
        """Largest distance from ``psi`` to either end of the interval."""
        return max(self.psi - self.lower, self.upper - self.psi)

    def to_dict(self) -> dict[str, Any]:
        return {"psi": self.psi, "lower": self.lower, "upper": self.upper, "bound": self.bound}


def _psi_term(c: np.ndarray, r: np.ndarray) -> np.ndarray:
    return (c - r) * np.log(c / r)


def psi_with_bound(
    ref_props: np.ndarray,
    cur_props: np.ndarray,
    ref_prop_error: np.ndarray | float,
    cur_prop_error: np.ndarray | float,
    eps: float = 1e-4,
) -> PsiInterval:
    """PSI of bin proportions (plus ``eps``, as the chapter) and its interval under errors.

    Each bin term ``(c - r) ln(c / r)`` grows with ``|c - r|``: its largest value over the
    error box is at a corner, its smallest at the two nearest points (0 when the boxes meet).

    >>> iv = psi_with_bound(np.array([0.5, 0.5]), np.array([0.5, 0.5]), 0.0, 0.0)
    >>> iv.psi, iv.lower, iv.upper
    (0.0, 0.0, 0.0)
    """
    r = np.clip(np.asarray(ref_props, dtype=np.float64), 0.0, 1.0)
    c = np.clip(np.asarray(cur_props, dtype=np.float64), 0.0, 1.0)
    er = np.broadcast_to(np.asarray(ref_prop_error, dtype=np.float64), r.shape)
    ec = np.broadcast_to(np.asarray(cur_prop_error, dtype=np.float64), c.shape)
    rp, cp = r + eps, c + eps
    point = float(np.sum(_psi_term(cp, rp)))
    r_lo, r_hi = np.clip(r - er, 0.0, 1.0) + eps, np.clip(r + er, 0.0, 1.0) + eps
    c_lo, c_hi = np.clip(c - ec, 0.0, 1.0) + eps, np.clip(c + ec, 0.0, 1.0) + eps
    corners = np.stack(
        [_psi_term(c_lo, r_lo), _psi_term(c_lo, r_hi), _psi_term(c_hi, r_lo), _psi_term(c_hi, r_hi)]
    )
    upper = float(np.sum(corners.max(axis=0)))
    low_terms = np.where(
        c_lo > r_hi,
        _psi_term(c_lo, r_hi),
        np.where(r_lo > c_hi, _psi_term(c_hi, r_lo), 0.0),
    )
    lower = float(np.sum(low_terms))
    point = 0.0 if not math.isfinite(point) else point
    return PsiInterval(psi=max(point, 0.0), lower=max(lower, 0.0), upper=max(upper, point))
