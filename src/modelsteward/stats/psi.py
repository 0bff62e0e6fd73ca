"""Population Stability Index, as the chapter defines it.

Bin edges are the reference's quantiles at ``0, 100/n_bins, ..., 100`` percent (numpy's
default linear interpolation), the outer edges are replaced by -inf and +inf, bins are
half-open ``[a, b)`` (the last one closed) as in ``np.histogram``, proportions get ``eps``
added, and ``PSI = sum((cur - ref) * ln(cur / ref))``.

Duplicate edges (columns with heavy ties, e.g. 70% zeros) are removed. This is deliberate and
changes nothing in the value: a zero-width bin ``[a, a)`` holds no value on either side, both
proportions are ``eps`` and its term ``(eps - eps) * ln(1)`` is exactly zero. A constant
reference therefore has two bins, below and at-or-above its value. NaN values are dropped
first (the null rate is the degradation detector's business); +/-inf fall in the outer bins.

    >>> import numpy as np
    >>> ref = np.arange(100.0)
    >>> round(psi(ref, ref), 12)
    0.0
    >>> psi_edges(np.sort(np.array([0.0, 0.0, 0.0, 0.0, 1.0])), n_bins=4)
    array([-inf,   0.,  inf])
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from modelsteward._params import MAX_BINS, Interval, validate_params
from modelsteward.errors import DataError, EmptyDataError

__all__ = [
    "categorical_psi",
    "one_sided_psi",
    "psi",
    "psi_bin_counts",
    "psi_edges",
    "psi_from_counts",
]

#: ``n_bins``: 1 to :data:`~modelsteward._params.MAX_BINS` bins
N_BINS = [Interval("int", 1, MAX_BINS)]
#: ``eps``: the proportion added to every bin, a positive finite number
EPS = [Interval("real", 0.0, None, closed="neither")]


def one_dim(what: str, values: object) -> np.ndarray:
    """``values`` as a 1-D array, or a DataError naming its shape (scalars included)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(
            f"{what} must be a one-dimensional array of values, got "
            f"{'a scalar' if arr.ndim == 0 else f'shape {arr.shape}'}; pass one column"
        )
    return arr


@validate_params({"n_bins": N_BINS})
def psi_edges(reference_sorted: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Bin edges from a sorted, NaN-free reference: -inf, unique inner quantiles, +inf.

    Inner edges are ``np.percentile(reference, 100 * k / n_bins)`` for ``k = 1..n_bins-1``
    (linear interpolation); duplicates are removed (see the module docstring).

        >>> psi_edges(np.arange(11.0), n_bins=2)
        array([-inf,   5.,  inf])
    """
    ref = one_dim("reference_sorted", reference_sorted).astype(np.float64, copy=False)
    ref = ref[~np.isnan(ref)] if ref.size and np.isnan(ref[-1]) else ref
    if ref.size == 0:
        raise EmptyDataError("PSI edges need at least one non-null reference value")
    q = np.linspace(0.0, 100.0, int(n_bins) + 1)[1:-1]
    # percentile of an already sorted array, computed directly (no copy of a 1M-row column)
    pos = q / 100.0 * (ref.size - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, ref.size - 1)
    frac = pos - lo
    a, b = ref[lo], ref[hi]
    with np.errstate(invalid="ignore", over="ignore"):
        inner = a + (b - a) * frac  # numpy's lerp for the common finite case
        # b - a overflows only for neighbours near +/-1.8e308: weight them instead
        wide = np.isfinite(a) & np.isfinite(b) & ~np.isfinite(inner)
        inner = np.where(wide, a * (1.0 - frac) + b * frac, inner)
        inner = np.where(a == b, a, inner)  # equal neighbours (ties, or +/-inf pairs)
        inner = np.where(np.isnan(inner), np.where(frac >= 0.5, b, a), inner)
    return np.concatenate(([-np.inf], np.unique(inner), [np.inf]))


def psi_bin_counts(values_sorted: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin of a sorted, NaN-free array, with ``np.histogram``'s bin semantics."""
    inner = np.asarray(edges, dtype=np.float64)[1:-1]
    below = np.searchsorted(values_sorted, inner, side="left")
    cum = np.concatenate(([0], below, [values_sorted.shape[0]]))
    return np.diff(cum).astype(np.int64)


@validate_params({"eps": EPS})
def psi_from_counts(
    ref_counts: np.ndarray | list[int], cur_counts: np.ndarray | list[int], eps: float = 1e-4
) -> float:
    """PSI of two count vectors over the same bins.

    >>> round(psi_from_counts([50, 50], [25, 75]), 6)
    0.274586
    """
    ref = np.asarray(ref_counts, dtype=np.float64)
    cur = np.asarray(cur_counts, dtype=np.float64)
    if ref.shape != cur.shape or ref.ndim != 1:
        raise DataError(
            f"reference and current counts must be 1-D and of equal length, "
            f"got {ref.shape} and {cur.shape}"
        )
    if (
        (ref < 0).any()
        or (cur < 0).any()
        or not (np.isfinite(ref).all() and np.isfinite(cur).all())
    ):
        raise DataError("bin counts must be finite and non-negative")
    n_ref, n_cur = ref.sum(), cur.sum()
    if n_ref == 0 or n_cur == 0:
        side = "reference" if n_ref == 0 else "current"
        raise EmptyDataError(f"PSI needs at least one counted value; the {side} counts are all 0")
    ref_pct = ref / n_ref + eps
    cur_pct = cur / n_cur + eps
    return float(max(np.sum((cur_pct - ref_pct) * np.log(cur_pct / ref_pct)), 0.0))


def _floats(what: str, values: object) -> np.ndarray:
    arr = one_dim(what, values)
    try:
        return arr.astype(np.float64, copy=False)
    except (TypeError, ValueError):
        raise DataError(f"{what} holds values that are not numbers; use categorical_psi") from None


@validate_params({"n_bins": N_BINS, "eps": EPS})
def psi(reference: np.ndarray, current: np.ndarray, n_bins: int = 10, eps: float = 1e-4) -> float:
    """PSI of two numeric samples (NaN dropped), bins from the reference's quantiles.

    >>> rng = np.random.default_rng(0)
    >>> psi(rng.normal(size=10_000), rng.normal(1.0, 1.0, 10_000)) > 0.2
    True
    """
    ref = np.sort(_floats("reference", reference))
    cur = np.sort(_floats("current", current))
    ref = ref[: int(np.searchsorted(ref, np.nan))] if ref.size and np.isnan(ref[-1]) else ref
    cur = cur[: int(np.searchsorted(cur, np.nan))] if cur.size and np.isnan(cur[-1]) else cur
    if ref.size == 0 or cur.size == 0:
        side = "reference" if ref.size == 0 else "current"
        raise EmptyDataError(
            f"PSI needs at least one non-null value on each side; the {side} has none"
        )
    edges = psi_edges(ref, n_bins)
    return psi_from_counts(psi_bin_counts(ref, edges), psi_bin_counts(cur, edges), eps)


@validate_params({"eps": EPS})
def categorical_psi(
    ref_counts: Mapping[str, int], cur_counts: Mapping[str, int], eps: float = 1e-4
) -> float:
    """PSI over category proportions; one extra bucket holds every category the reference
    never saw (its reference proportion is 0, so it contributes only when it fills).

        >>> round(categorical_psi({"a": 50, "b": 50}, {"a": 25, "b": 75}), 6)
        0.274586
        >>> categorical_psi({"a": 1}, {"a": 1, "z": 1}) > 1
        True
    """
    ref_keys = list(ref_counts)
    seen = set(ref_keys)
    ref = [int(ref_counts[k]) for k in ref_keys] + [0]
    cur = [int(cur_counts.get(k, 0)) for k in ref_keys]
    cur.append(sum(int(v) for k, v in cur_counts.items() if k not in seen))
    return psi_from_counts(np.array(ref), np.array(cur), eps)


@validate_params({"eps": EPS})
def one_sided_psi(counts: np.ndarray, eps: float = 1e-4) -> float:
    """PSI when one side has no value at all: its proportions are all 0 (+eps).

    The defined answer for an all-null window (or reference): large, finite, never NaN.

        >>> round(one_sided_psi(np.array([1, 1])), 4)
        8.5174
    """
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    if total <= 0:
        return 0.0
    pct = c / total + eps
    return float(np.sum((pct - eps) * np.log(pct / eps)))
