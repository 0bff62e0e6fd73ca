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

__all__ = ["bin_count", "current_bins", "is_categorical", "psi_noise_floor", "reference_bins"]


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


def reference_bins(profile: Any) -> tuple[list[str], list[float]] | None:
    """Bin labels and reference proportions of a baseline column (for plots and tests)."""
    if is_categorical(profile):
        counts = dict(profile.category_counts)
        top = sorted(counts, key=lambda k: -counts[k])[:15]
        total = float(sum(counts.values())) or 1.0
        labels = [str(k) for k in top] + ["(other)"]
        props = [counts[k] / total for k in top]
        props.append(max(0.0, 1.0 - sum(props)))
        return labels, props
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
        counts = dict(profile.category_counts)
        top = sorted(counts, key=lambda k: -counts[k])[:15]
        vals = pd.Series(values).dropna().astype(str)
        if vals.empty:
            return None
        freq = vals.value_counts()
        props = [float(freq.get(str(k), 0)) / len(vals) for k in top]
        props.append(max(0.0, 1.0 - sum(props)))
        return props
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
