"""The reference's PSI bins, a window's shares in them, and the PSI noise floor.

Under no drift PSI grows like ``(bins - 1) * (1/n_ref + 1/n_cur)``, so when that noise floor
(times a safety factor) reaches the warning threshold, PSI bands are not used for a window.

    >>> round(psi_noise_floor(10, 10_000, 200), 4)
    0.0459
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["TOP_CATEGORIES", "bin_count", "current_bins", "is_categorical", "psi_noise_floor",
           "reference_bins", "sketch_bins"]


def psi_noise_floor(n_bins: int, n_reference: int, n_current: int) -> float:
    """Expected PSI between two samples of one distribution: (bins-1)(1/n_ref + 1/n_cur)."""
    if n_reference <= 0 or n_current <= 0:
        return math.inf
    return (max(n_bins, 2) - 1) * (1.0 / n_reference + 1.0 / n_current)


def is_categorical(profile: Any) -> bool:
    return getattr(profile, "kind", None) == "categorical" and bool(
        getattr(profile, "category_counts", None))


def bin_count(profile: Any) -> int:
    if is_categorical(profile):
        return len(profile.category_counts)
    ref = getattr(profile, "psi_reference_counts", None)
    return int(len(ref)) if ref is not None else 10


#: categories shown (and compared) one by one; the rest are pooled as "(other)"
TOP_CATEGORIES = 15


def _top(profile: Any) -> list[Any]:
    counts = dict(profile.category_counts)
    return sorted(counts, key=lambda k: -counts[k])[:TOP_CATEGORIES]


def _shares(top: list[Any], counts: Any, n: float) -> list[float]:
    props = [float(counts.get(str(k), 0)) / n for k in top]
    props.append(max(0.0, 1.0 - sum(props)))
    return props


def reference_bins(profile: Any) -> tuple[list[str], list[float]] | None:
    """Bin labels and reference proportions of a baseline column (for plots and tests)."""
    if is_categorical(profile):
        counts = {str(k): v for k, v in dict(profile.category_counts).items()}
        top = _top(profile)
        total = float(sum(counts.values())) or 1.0
        return [str(k) for k in top] + ["(other)"], _shares(top, counts, total)
    edges = getattr(profile, "psi_edges", None)
    ref = getattr(profile, "psi_reference_counts", None)
    if edges is None or ref is None:
        return None
    edges = np.asarray(edges, dtype=float)
    ref = np.asarray(ref, dtype=float)
    total = ref.sum() or 1.0
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=False):
        a = "-inf" if np.isneginf(lo) else f"{lo:.3g}"
        b = "inf" if np.isposinf(hi) else f"{hi:.3g}"
        labels.append(f"[{a}, {b})")
    return labels, (ref / total).tolist()


def current_bins(profile: Any, values: np.ndarray) -> list[float] | None:
    """Proportions of the window's non-null values in the reference's PSI bins."""
    if is_categorical(profile):
        vals = pd.Series(values).dropna().astype(str)
        if vals.empty:
            return None
        return _shares(_top(profile), vals.value_counts(), len(vals))
    edges = getattr(profile, "psi_edges", None)
    if edges is None:
        return None
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return None
    edges = np.asarray(edges, dtype=float)
    idx = np.clip(np.searchsorted(edges[1:-1], x, side="right"), 0, edges.size - 2)
    binned = np.bincount(idx, minlength=edges.size - 1)
    return (binned / x.size).tolist()


def sketch_bins(profile: Any, column: Any) -> list[float] | None:
    """:func:`current_bins` of a sketched window column (a numeric or categorical sketch of
    :mod:`modelsteward.baseline.sketch`): shares within the sketch's bound."""
    n = int(column.n_present)
    if n == 0:
        return None
    if is_categorical(profile):
        return _shares(_top(profile), column.counts(), n)
    edges = getattr(profile, "psi_edges", None)
    if edges is None or getattr(column, "kind", None) != "numeric":
        return None
    edges = np.asarray(edges, dtype=float)
    below = column.cdf(edges[1:-1], inclusive=False)  # share of values < each inner edge
    return np.diff(np.concatenate([[0.0], below, [1.0]])).tolist()
