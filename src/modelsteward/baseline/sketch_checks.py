"""Compare two column sketches: KS distance with its bound, PSI with its interval.

    >>> import numpy as np
    >>> from modelsteward.baseline.sketch import NumericSketch
    >>> rng = np.random.default_rng(1)
    >>> ref = NumericSketch("x").update(rng.normal(size=200_000))
    >>> cur = NumericSketch("x").update(rng.normal(0.3, 1.0, size=200_000))
    >>> r = sketch_ks(ref, cur)
    >>> r.is_significant, r.bound == ref.rank_error + cur.rank_error
    (True, True)
"""

from __future__ import annotations

import numpy as np

from modelsteward.baseline.sketch import NumericSketch
from modelsteward.stats.sketch_ks import (
    PsiInterval,
    SketchKSResult,
    ks_decision,
    ks_distance_with_bound,
    psi_with_bound,
)

__all__ = ["sketch_ks", "sketch_ks_distance", "sketch_psi", "sketch_psi_edges"]


def sketch_ks_distance(ref: NumericSketch, cur: NumericSketch) -> tuple[float, float]:
    """(D, bound) over the union of both sketches' retained items."""
    if ref.kll.is_empty() or cur.kll.is_empty():
        return 0.0, 0.0
    points = np.union1d(ref.retained_items(), cur.retained_items())
    return ks_distance_with_bound(
        ref.cdf(points, inclusive=True),
        cur.cdf(points, inclusive=True),
        ref.rank_error,
        cur.rank_error,
    )


def sketch_ks(
    ref: NumericSketch,
    cur: NumericSketch,
    *,
    p_threshold: float = 0.01,
    min_effect: float = 0.0,
) -> SketchKSResult:
    """KS decision from two sketches: drift only when ``D - bound`` clears the critical value."""
    d, bound = sketch_ks_distance(ref, cur)
    return ks_decision(
        d, bound, ref.n_present, cur.n_present, p_threshold=p_threshold, min_effect=min_effect
    )


def sketch_psi_edges(ref: NumericSketch, n_bins: int = 10) -> np.ndarray:
    """-inf, the reference sketch's unique inner quantiles at k/n_bins, +inf."""
    if ref.kll.is_empty():
        return np.array([-np.inf, np.inf])
    inner = ref.quantiles([i / n_bins for i in range(1, n_bins)])
    inner = np.unique(inner[np.isfinite(inner)])
    return np.concatenate(([-np.inf], inner, [np.inf]))


def _bin_props(sk: NumericSketch, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Proportions in ``[a, b)`` bins (last closed) and each proportion's error bound."""
    inner = edges[1:-1]
    below = sk.cdf(inner, inclusive=False) if inner.size else np.zeros(0)  # P(X < edge)
    cum = np.concatenate(([0.0], below, [1.0]))
    props = np.clip(np.diff(cum), 0.0, 1.0)
    e = sk.rank_error
    err = np.full(props.shape, 2.0 * e)
    if err.size:
        err[0] = err[-1] = e  # an outer bin has one estimated edge
    if err.size == 1:
        err[0] = 0.0
    return props, err


def sketch_psi(
    ref: NumericSketch,
    cur: NumericSketch,
    n_bins: int = 10,
    eps: float = 1e-4,
    edges: np.ndarray | None = None,
) -> PsiInterval:
    """PSI over the reference sketch's quantile bins, with the interval the sketches allow."""
    if ref.kll.is_empty() or cur.kll.is_empty():
        return PsiInterval(psi=0.0, lower=0.0, upper=0.0)
    e = sketch_psi_edges(ref, n_bins) if edges is None else np.asarray(edges, dtype=np.float64)
    r, er = _bin_props(ref, e)
    c, ec = _bin_props(cur, e)
    return psi_with_bound(r, c, er, ec, eps=eps)
