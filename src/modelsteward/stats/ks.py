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

from modelsteward._params import Interval, validate_params
from modelsteward.errors import EmptyDataError
from modelsteward.stats._kolmogorov import kstwo_sf

__all__ = ["ks_2samp_sorted", "ks_from_sorted", "ks_pvalue"]

#: scipy's switch: ``method='auto'`` is exact when both sizes are at most this.
MAX_EXACT_N = 10_000

try:  # scipy's own exact path (BSD); the public function is the fallback
    from scipy.stats._stats_py import _attempt_exact_2kssamp as _scipy_exact
except ImportError:  # pragma: no cover - a future scipy that renamed its helper
    _scipy_exact = None


def _drop_nan_sorted(values_sorted: np.ndarray) -> np.ndarray:
    """A sorted float array without its trailing NaN (NaN sorts last in numpy)."""
    n = values_sorted.shape[0]
    if n and values_sorted[-1] != values_sorted[-1]:
        n = int(np.searchsorted(values_sorted, np.nan, side="left"))
    return values_sorted[:n]


def _as_float_1d(values: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        from modelsteward.errors import ColumnTypeError

        raise ColumnTypeError(f"{what} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype != np.float64:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            from modelsteward.errors import ColumnTypeError

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
        from modelsteward.errors import DataError

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


def _dense_extremes(
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
        return _dense_extremes(ref, cur, np.arange(n2), n1, n2)
    starts = np.arange(0, n2, _BLOCK, dtype=np.int64)
    plus, minus = _dense_extremes(ref, cur[starts], starts, n1, n2)
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
        p2, m2 = _dense_extremes(ref, cur[pos], pos, n1, n2)
        plus, minus = max(plus, p2), max(minus, m2)
    return plus, minus


@validate_params(
    {"d": [Interval("real", 0.0, 1.0)], "n1": [Interval("int", 1, None)],
     "n2": [Interval("int", 1, None)]}
)
def ks_pvalue(d: float, n1: int, n2: int) -> tuple[float, float]:
    """(statistic, p-value) as ``scipy.stats.ks_2samp(method='auto')`` reports them.

    In the exact branch scipy rounds the statistic to the lattice ``h / lcm(n1, n2)``;
    so does this function.
    """
    if max(n1, n2) <= MAX_EXACT_N:
        g = math.gcd(n1, n2)
        if _scipy_exact is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                success, d_exact, prob = _scipy_exact(n1, n2, g, d, "two-sided")
            if success:
                return float(d_exact), float(np.clip(prob, 0.0, 1.0))
        else:  # pragma: no cover
            lcm = (n1 // g) * n2
            d = round(d * lcm) / lcm
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    prob = kstwo_sf(float(d), int(np.round(en)))
    if not prob == prob:  # pragma: no cover - kstwo never returns NaN for 0 <= d <= 1
        prob = 0.0 if d > 0 else 1.0
    return float(d), float(min(max(prob, 0.0), 1.0))
