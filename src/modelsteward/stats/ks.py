"""Two-sample Kolmogorov-Smirnov test against an already sorted reference.

The statistic and the p-value equal ``scipy.stats.ks_2samp(reference, current)`` with its
default ``method='auto'`` (exact distribution when both samples have at most 10,000 values,
Smirnov's asymptotic ``kstwo`` otherwise, and the same fallback to the asymptotic form when
the exact computation overflows). NaN values are dropped first.

Only the current sample is sorted per call. Both one-sided extremes of the ECDF difference
come from searching the sorted current values in the sorted reference:

* ``max(F_ref - F_cur)`` is reached just below some current value ``c_i``:
  ``#ref < c_i / n_ref - #cur < c_i / n_cur`` (``searchsorted(..., side='left')``);
* ``max(F_cur - F_ref)`` is reached at some current value ``c_i``:
  ``#cur <= c_i / n_cur - #ref <= c_i / n_ref`` (``side='right'``).

Between two consecutive current values ``F_cur`` is constant and ``F_ref`` only rises, so no
reference point needs to be searched in the current sample: O(n_cur log n_ref).

    >>> import numpy as np
    >>> ref = np.sort(np.array([0.1, 0.4, 0.5, 0.9]))
    >>> ks_2samp_sorted(ref, np.array([0.2, 0.3, 0.6, 0.7, 0.8]))[0]
    0.35
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import optimize, special
from scipy import stats as _st

from modelsteward._params import P_THRESHOLD, Interval, validate_params
from modelsteward.errors import ColumnTypeError, DataError, EmptyDataError
from modelsteward.stats._kolmogorov import kstwo_sf

__all__ = [
    "dense_extremes",
    "ks_2samp_sorted",
    "ks_critical_value",
    "ks_from_sorted",
    "ks_pvalue",
    "ks_pvalue_asymptotic",
]

#: scipy's switch: ``method='auto'`` is exact when both sizes are at most this.
MAX_EXACT_N = 10_000

def _drop_nan_sorted(values_sorted: np.ndarray) -> np.ndarray:
    """A sorted float array without its trailing NaN (NaN sorts last in numpy)."""
    n = values_sorted.shape[0]
    if n and values_sorted[-1] != values_sorted[-1]:
        n = int(np.searchsorted(values_sorted, np.nan, side="left"))
    return values_sorted[:n]


def _as_float_1d(values: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ColumnTypeError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype != np.float64:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ColumnTypeError(
                f"{what} holds values that are not numbers ({exc}); "
                "declare the column categorical or clean it"
            ) from None
    return arr


def ks_2samp_sorted(reference_sorted: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """KS statistic and p-value of ``current`` against a sorted ``reference_sorted``.

    ``reference_sorted`` must be sorted ascending (NaN, if any, at the end, as ``np.sort``
    leaves them). ``current`` may be in any order. NaN values are dropped from both.
    Raises :class:`~modelsteward.errors.EmptyDataError` if either side has no value.

        >>> import numpy as np
        >>> ks_2samp_sorted(np.arange(5.0), np.arange(5.0) + 10)
        (1.0, 0.007936507936507936)
    """
    ref = _drop_nan_sorted(_as_float_1d(reference_sorted, "reference"))
    cur = _drop_nan_sorted(np.sort(_as_float_1d(current, "current")))
    if ref.shape[0] == 0 or cur.shape[0] == 0:
        side = "reference" if ref.shape[0] == 0 else "current"
        raise EmptyDataError(
            f"the KS test needs at least one non-null value on each side; the {side} sample "
            "has none (drop the feature or fix the upstream data)"
        )
    if ref.shape[0] > 1 and not bool(np.all(ref[1:] >= ref[:-1])):  # one vectorised pass
        raise DataError("reference_sorted is not sorted ascending; pass np.sort(reference)")
    return ks_from_sorted(ref, cur)


def ks_from_sorted(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float]:
    """KS statistic and p-value from two sorted, NaN-free, non-empty float arrays.

    The fast kernel behind :func:`ks_2samp_sorted`; it does not validate its input.
    """
    n1 = int(ref.shape[0])
    n2 = int(cur.shape[0])
    plus, minus = _extremes(ref, cur)
    return ks_from_extremes(plus, minus, n1, n2)


def ks_from_extremes(plus: int, minus: int, n1: int, n2: int) -> tuple[float, float]:
    """(statistic, p-value) from the one-sided extremes scaled by ``n1 * n2``."""
    scale = n1 * n2
    max_s = max(plus, 0) / scale
    min_s = max(minus, 0) / scale
    d = min_s if min_s > max_s else max_s
    return ks_pvalue(min(d, 1.0), n1, n2)


def dense_extremes(
    ref: np.ndarray, values: np.ndarray, positions: np.ndarray, n1: int, n2: int
) -> tuple[int, int]:
    """Integer-scaled one-sided extremes at the given positions of the sorted current sample.

    ``plus = max(#ref < c_i * n2 - i * n1)`` (F_ref - F_cur just below c_i) and
    ``minus = max((i + 1) * n1 - #ref <= c_i * n2)`` (F_cur - F_ref at c_i), times n1 * n2.
    With ties inside the current sample these underestimate at all but one member of a tie
    run, and are exact at that one (the first for plus, the last for minus).
    """
    left = np.searchsorted(ref, values, side="left")
    # side='right' differs from side='left' only where a reference value equals c_i
    probe = ref[np.minimum(left, n1 - 1)]
    tied = probe == values
    if tied.any():
        right = left.copy()
        right[tied] = np.searchsorted(ref, values[tied], side="right")
    else:
        right = left
    pos = positions.astype(np.int64, copy=False) * n1
    plus = int((left * n2 - pos).max())
    minus = int((pos + n1 - right * n2).max())
    return plus, minus


_BLOCK = 64


def _extremes(ref: np.ndarray, cur: np.ndarray) -> tuple[int, int]:
    """Both one-sided extremes, searching only the blocks of the current sample that can
    hold them.

    Within a block of consecutive sorted current values ``i in [s, e]``,
    ``#ref < c_i <= #ref < c_{e+1}`` and ``#ref <= c_i >= #ref <= c_s``, so each block has an
    upper bound for both extremes from its two ends. The block ends are searched first;
    only blocks whose bound beats the best value already found are searched in full.
    """
    n1 = int(ref.shape[0])
    n2 = int(cur.shape[0])
    if n2 <= 8 * _BLOCK:
        return dense_extremes(ref, cur, np.arange(n2), n1, n2)
    starts = np.arange(0, n2, _BLOCK, dtype=np.int64)
    plus, minus = dense_extremes(ref, cur[starts], starts, n1, n2)
    left_s = np.searchsorted(ref, cur[starts], side="left")
    right_s = np.searchsorted(ref, cur[starts], side="right")
    left_next = np.append(left_s[1:], n1)
    ends = np.minimum(starts + _BLOCK, n2)  # one past each block's last position
    bound_plus = left_next * n2 - starts * n1
    bound_minus = ends * n1 - right_s * n2
    open_blocks = np.flatnonzero((bound_plus > plus) | (bound_minus > minus))
    if open_blocks.size:
        pos = (starts[open_blocks, None] + np.arange(_BLOCK, dtype=np.int64)).ravel()
        if pos[-1] >= n2:
            pos = pos[pos < n2]
        p2, m2 = dense_extremes(ref, cur[pos], pos, n1, n2)
        plus, minus = max(plus, p2), max(minus, m2)
    return plus, minus


def _exact_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """scipy's exact two-sample result for distance ``d`` through its public ``ks_2samp``.

    scipy rounds ``d`` to the lattice ``h / lcm(n1, n2)`` and reports ``P(D >= h / lcm)``,
    which depends only on ``(h, n1, n2)``. Two two-valued samples realise a distance: ``i``
    of the ``n1`` reference values and ``j`` of the ``n2`` current values at 0, the rest at
    1, give ``D = (i n2 - j n1) / (n1 n2)``. The smallest such ``D >= h / lcm`` has the same
    tail probability (D takes no value in between), so scipy's p-value for those samples is
    the p-value of ``d``.
    """
    g = math.gcd(n1, n2)
    lcm = n1 // g * n2
    h = int(round(d * lcm))
    if h == 0:
        return 0.0, 1.0
    target = h * g  # in units of 1 / (n1 n2)
    i = np.arange(n1 + 1, dtype=np.int64)
    j = np.minimum((i * n2 - target) // n1, n2)  # the most current values at 0 keeping >= h
    reach = np.where(j >= 0, i * n2 - j * n1, np.iinfo(np.int64).max)
    best = int(np.argmin(reach))
    ii, jj = best, int(j[best])
    a = np.repeat([0.0, 1.0], [ii, n1 - ii])
    b = np.repeat([0.0, 1.0], [jj, n2 - jj])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's own fallback to the asymptotic form
        res = _st.ks_2samp(a, b, method="auto")
    exact = int(reach[best]) == target
    return (float(res.statistic) if exact else h * 1.0 / lcm), float(np.clip(res.pvalue, 0, 1))


@validate_params(
    {"d": [Interval("real", 0.0, 1.0)], "n1": [Interval("int", 1, None)],
     "n2": [Interval("int", 1, None)]}
)
def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """(statistic, p-value) as ``scipy.stats.ks_2samp(method='auto')`` reports them.

    Exact distribution (scipy's, through its public API) when both sizes are at most
    :data:`MAX_EXACT_N`, where scipy rounds the statistic to the lattice ``h / lcm(n1, n2)``
    and so does this function; else :func:`ks_pvalue_asymptotic`.

        >>> ks_pvalue(1.0, 5, 5)
        (1.0, 0.007936507936507936)
    """
    if max(n1, n2) <= MAX_EXACT_N:
        return _exact_pvalue(float(d), int(n1), int(n2))
    return float(d), ks_pvalue_asymptotic(d, n1, n2)


def _effective_n(n_ref: int, n_cur: int) -> int:
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    return max(int(np.round(m * n / (m + n))), 1) if m + n > 0 else 1


@validate_params(
    {"d": [Interval("real")], "n_ref": [Interval("int", 0, None)],
     "n_cur": [Interval("int", 0, None)]}
)
def ks_pvalue_asymptotic(d: float, n_ref: int, n_cur: int) -> float:
    """Two-sided KS p-value of distance ``d``: scipy's ``method='asymp'``, i.e. the one-sample
    Kolmogorov distribution ``kstwo.sf(d, round(n m / (n + m)))`` (fast for large sizes, see
    :mod:`modelsteward.stats._kolmogorov`). 1.0 when either side is empty.

    >>> ks_pvalue_asymptotic(0.0, 100, 100)
    1.0
    """
    if n_ref <= 0 or n_cur <= 0:
        return 1.0
    d = min(max(float(d), 0.0), 1.0)
    p = kstwo_sf(d, _effective_n(n_ref, n_cur))
    if not p == p:  # pragma: no cover - kstwo never returns NaN for 0 <= d <= 1
        p = 0.0 if d > 0 else 1.0
    return float(min(max(p, 0.0), 1.0))


@validate_params(
    {"p_threshold": P_THRESHOLD, "n_ref": [Interval("int", 0, None)],
     "n_cur": [Interval("int", 0, None)]}
)
def ks_critical_value(p_threshold: float, n_ref: int, n_cur: int) -> float:
    """Smallest KS distance whose asymptotic p-value falls below ``p_threshold``: the root of
    :func:`ks_pvalue_asymptotic` (the one Kolmogorov implementation), started from the
    Kolmogorov limit with Stephens' correction.

    >>> round(ks_critical_value(0.01, 1_000_000, 1_000_000), 5)
    0.0023
    """
    en = _effective_n(n_ref, n_cur)
    root = math.sqrt(en)
    guess = float(special.kolmogi(p_threshold)) / (root + 0.12 + 0.11 / root)
    lo, hi = min(guess * 0.9, 1.0), min(guess * 1.1, 1.0)

    def gap(x: float) -> float:
        return kstwo_sf(x, en) - p_threshold

    if gap(hi) > 0:
        hi = 1.0
    if gap(lo) < 0:
        lo = 0.0
    if gap(hi) > 0:
        return 1.0
    return float(optimize.brentq(gap, lo, hi, xtol=1e-12, rtol=1e-12))
