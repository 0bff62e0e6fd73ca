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

from modelsteward._params import MODE, NON_NEGATIVE, P_THRESHOLD, ROW_LIMIT, validate_params
from modelsteward._types import DataLike
from modelsteward.baseline.baseline import Baseline
from modelsteward.baseline.columns import as_columns, window_columns
from modelsteward.baseline.sketch import DEFAULT_K, NumericSketch, SketchProfile
from modelsteward.baseline.sketch_baseline import resolve_mode
from modelsteward.baseline.streaming import profile_dataset
from modelsteward.baseline.summary import bin_proportions, ks_distance, quantile_edges
from modelsteward.errors import DataError
from modelsteward.io import (
    count_rows,
    dataset_schema,
    is_dataset_source,
    read_table,
    small_csv_table,
)
from modelsteward.stats.psi import EPS, N_BINS
from modelsteward.stats.sketch_ks import (
    PsiInterval,
    SketchKSResult,
    ks_decision,
    psi_with_bound,
)

__all__ = [
    "baseline_is_sketch",
    "choose_check_mode",
    "current_profile",
    "sketch_ks",
    "sketch_psi",
]


@validate_params({"p_threshold": P_THRESHOLD, "min_effect": NON_NEGATIVE})
def sketch_ks(
    ref: NumericSketch,
    cur: NumericSketch,
    *,
    p_threshold: float = 0.01,
    min_effect: float = 0.0,
) -> SketchKSResult:
    """KS decision from two sketches: drift only when ``D - bound`` clears the critical value."""
    d, bound = ks_distance(ref, cur)
    return ks_decision(
        d, bound, ref.n_present, cur.n_present, p_threshold=p_threshold, min_effect=min_effect
    )


@validate_params({"n_bins": N_BINS, "eps": EPS})
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
    e = quantile_edges(ref, n_bins) if edges is None else np.asarray(edges, dtype=np.float64)
    r, er = bin_proportions(ref, e)
    c, ec = bin_proportions(cur, e)
    return psi_with_bound(r, c, er, ec, eps=eps)


def baseline_is_sketch(baseline: Baseline) -> bool:
    """True when any column of the baseline was fitted in sketch mode."""
    return any(p.mode == "sketch" for p in baseline.columns.values())


@validate_params({"mode": MODE, "exact_max_rows": ROW_LIMIT})
def choose_check_mode(
    baseline: Baseline, current: DataLike | SketchProfile, mode: str = "auto",
    exact_max_rows: int | None = None,
) -> tuple[str, DataLike | SketchProfile]:
    """(``"exact"`` or ``"sketch"``, the current data to check).

    Every conflict of the mode with the inputs is a :class:`DataError`. ``auto`` is sketch
    mode when the baseline is in sketch mode, the current window is a
    :class:`SketchProfile`, or it has more rows than ``exact_max_rows``; a small Parquet source
    is read into memory for the exact path.
    """
    if mode == "exact" and baseline_is_sketch(baseline):
        raise DataError(
            "the baseline was fitted in sketch mode and keeps no reference values; exact mode "
            "needs an exact baseline (Baseline.fit(..., mode='exact')), or use mode='sketch'"
        )
    if isinstance(current, SketchProfile):
        if mode == "exact":
            raise DataError(
                "the current window is a sketch profile; exact mode needs the raw values "
                "(pass the data, or use mode='sketch')"
            )
        return "sketch", current
    if is_dataset_source(current):
        if mode == "auto" and baseline_is_sketch(baseline):
            return "sketch", current
        n = count_rows(current)
        if n is None and mode == "auto":  # CSV: small files are read to count their rows
            table = small_csv_table(current)
            if table is not None:
                return resolve_mode(mode, table.num_rows, exact_max_rows), table
        chosen = resolve_mode(mode, n, exact_max_rows)
        return (chosen, current) if chosen == "sketch" else (chosen, read_table(current))
    if mode == "exact":
        return "exact", current
    if mode == "sketch" or baseline_is_sketch(baseline):
        return "sketch", current
    cols = as_columns(current)
    n_rows = max((int(v.shape[0]) for v in cols.values()), default=0)
    return resolve_mode("auto", n_rows, exact_max_rows), cols


def current_profile(
    current: DataLike | SketchProfile, baseline: Baseline, k: int = DEFAULT_K
) -> SketchProfile:
    """The current window as a :class:`SketchProfile` over the baseline's columns present."""
    if isinstance(current, SketchProfile):
        return current
    if is_dataset_source(current):
        names = set(dataset_schema(current).names)
        kinds = {n: p.kind for n, p in baseline.columns.items() if n in names}
        return profile_dataset(current, kinds, columns=list(kinds), k=k)
    cols = window_columns(current)
    kinds = {n: p.kind for n, p in baseline.columns.items() if n in cols}
    prof = SketchProfile.empty(kinds, k=k)
    n = max((int(cols[c].shape[0]) for c in kinds), default=0)
    step = 1_000_000
    for lo in range(0, max(n, 1), step):
        prof.update({c: cols[c][lo : lo + step] for c in kinds})
    return prof
