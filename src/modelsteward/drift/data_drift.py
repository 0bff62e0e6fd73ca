"""Data drift: does each feature's distribution in the current window differ from the
reference? KS for numeric features, chi-square for categorical ones, PSI beside both.

    >>> import numpy as np
    >>> from modelsteward.baseline import Baseline
    >>> rng = np.random.default_rng(0)
    >>> base = Baseline.fit({"x": rng.normal(size=5_000), "y": rng.normal(size=5_000)})
    >>> res = detect_data_drift(base, {"x": rng.normal(0.5, 1, 2_000), "y": rng.normal(size=2_000)})
    >>> [(r.feature, r.is_drifted) for r in res]
    [('x', True), ('y', False)]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from modelsteward._params import MODE, NON_NEGATIVE, P_THRESHOLD, ROW_LIMIT, validate_params
from modelsteward.baseline.columns import CATEGORICAL, numeric_values
from modelsteward.baseline.profile import ColumnProfile
from modelsteward.drift._inputs import (
    as_baseline,
    current_categories,
    current_columns,
    map_columns,
    require_exact,
    sorted_valid,
)
from modelsteward.drift.results import DriftResult
from modelsteward.stats._grid import extremes_and_counts, grid_for
from modelsteward.stats.chi2 import chi2_homogeneity
from modelsteward.stats.ks import ks_from_extremes, ks_from_sorted
from modelsteward.stats.psi import EPS, categorical_psi, psi_bin_counts, psi_from_counts

__all__ = ["detect_data_drift", "one_sided_psi"]

DEFAULT_EPS = 1e-4
#: from this many current values on, the cell grid replaces the full sort (see stats._grid)
_GRID_MIN_VALUES = 30_000


@validate_params({"eps": EPS})
def one_sided_psi(counts: np.ndarray, eps: float = DEFAULT_EPS) -> float:
    """PSI when one side has no value at all: its proportions are all 0 (+eps).

    The defined answer for an all-null window (or reference): large, finite, never NaN.
    """
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    if total <= 0:
        return 0.0
    pct = c / total + eps
    return float(np.sum((pct - eps) * np.log(pct / eps)))


def _degenerate(
    profile: ColumnProfile,
    test: str,
    n_ref: int,
    n_cur: int,
    counts: np.ndarray | None,
    threshold: float,
) -> DriftResult:
    """One side has no non-null value: same (both empty) or completely different."""
    if n_ref == 0 and n_cur == 0:
        stat, p, psi_value, drifted, effect = 0.0, 1.0, 0.0, False, 0.0
    else:
        stat = 1.0 if test == "ks" else 0.0
        p, drifted, effect = 0.0, True, 1.0
        psi_value = one_sided_psi(counts) if counts is not None else 0.0
    return DriftResult(
        feature=profile.name,
        statistic=stat,
        p_value=p,
        is_drifted=drifted,
        psi=psi_value,
        test=test,
        kind=profile.kind,
        p_threshold=threshold,
        n_reference=n_ref,
        n_current=n_cur,
        effect_size=effect,
    )


def _ks_and_psi_counts(
    ref: np.ndarray, edges: np.ndarray, name: str, values: np.ndarray
) -> tuple[int, float, float, np.ndarray]:
    """(n_current, KS statistic, p-value, current PSI counts); n_current may be 0."""
    x = numeric_values(name, values)
    if x.shape[0] >= _GRID_MIN_VALUES and ref.shape[0] >= _GRID_MIN_VALUES // 10:
        grid = grid_for(ref)
        found = None if grid is None else extremes_and_counts(grid, ref, x, edges[1:-1])
        if found is not None:
            plus, minus, n_cur, below = found
            stat, p = ks_from_extremes(plus, minus, int(ref.shape[0]), n_cur)
            counts = np.diff(np.concatenate(([0], below, [n_cur])))
            return n_cur, stat, p, counts
    cur = sorted_valid(name, x)
    n_cur = int(cur.shape[0])
    if n_cur == 0:
        return 0, 0.0, 1.0, np.zeros(edges.shape[0] - 1, dtype=np.int64)
    stat, p = ks_from_sorted(ref, cur)
    return n_cur, stat, p, psi_bin_counts(cur, edges)


def numeric_drift(profile: ColumnProfile, values: np.ndarray, threshold: float) -> DriftResult:
    """KS and PSI of one numeric column against its exact profile."""
    ref = require_exact(profile)
    n_ref = int(ref.shape[0])
    edges = profile.psi_edges
    ref_counts = profile.psi_reference_counts
    if n_ref == 0 or edges is None or ref_counts is None:
        n_cur = int(np.count_nonzero(~np.isnan(numeric_values(profile.name, values))))
        return _degenerate(profile, "ks", 0, n_cur, np.array([n_cur]), threshold)
    n_cur, stat, p, cur_counts = _ks_and_psi_counts(ref, edges, profile.name, values)
    if n_cur == 0:
        return _degenerate(profile, "ks", n_ref, 0, ref_counts, threshold)
    psi_value = psi_from_counts(ref_counts, cur_counts, DEFAULT_EPS)
    return DriftResult(
        feature=profile.name,
        statistic=stat,
        p_value=p,
        is_drifted=p < threshold,
        psi=psi_value,
        test="ks",
        kind=profile.kind,
        p_threshold=threshold,
        n_reference=n_ref,
        n_current=n_cur,
        effect_size=stat,
    )


def categorical_drift(profile: ColumnProfile, values: np.ndarray, threshold: float) -> DriftResult:
    """Chi-square homogeneity and categorical PSI of one categorical column."""
    ref_counts = profile.category_counts or {}
    cur_counts, _ = current_categories(values)
    n_ref = sum(ref_counts.values())
    n_cur = sum(cur_counts.values())
    if n_ref == 0 or n_cur == 0:
        counts = np.fromiter((ref_counts or cur_counts).values(), dtype=np.int64)
        return _degenerate(profile, "chi2", n_ref, n_cur, counts, threshold)
    stat, p = chi2_homogeneity(ref_counts, cur_counts)
    k = len(set(ref_counts) | set(cur_counts))
    cramers_v = math.sqrt(stat / (n_ref + n_cur)) if k > 1 else 0.0
    return DriftResult(
        feature=profile.name,
        statistic=stat,
        p_value=p,
        is_drifted=p < threshold,
        psi=categorical_psi(ref_counts, cur_counts, DEFAULT_EPS),
        test="chi2",
        kind=profile.kind,
        p_threshold=threshold,
        n_reference=n_ref,
        n_current=n_cur,
        effect_size=min(cramers_v, 1.0),
    )


def _missing(profile: ColumnProfile, threshold: float) -> DriftResult:
    return DriftResult(
        feature=profile.name,
        statistic=1.0,
        p_value=0.0,
        is_drifted=True,
        psi=0.0,
        test="missing",
        kind=profile.kind,
        p_threshold=threshold,
        n_reference=profile.n_valid,
        n_current=0,
        effect_size=1.0,
    )


@validate_params(
    {"p_threshold": P_THRESHOLD, "mode": MODE, "exact_max_rows": ROW_LIMIT,
     "min_effect": NON_NEGATIVE}
)
def detect_data_drift(
    reference: Any,
    current: Any,
    p_threshold: float = 0.01,
    *,
    mode: str = "auto",
    exact_max_rows: int | None = None,
    min_effect: float = 0.0,
) -> list[DriftResult]:
    """One :class:`DriftResult` per reference feature, worst first.

    ``reference`` is a :class:`~modelsteward.baseline.Baseline` (fitted once) or raw data
    (dict of arrays, pandas, polars, pyarrow; fitted on the fly). ``current`` is raw data.
    Numeric features get the two-sample KS test (identical to ``scipy.stats.ks_2samp``,
    NaN dropped) and decile PSI; categorical ones the chi-square homogeneity test and
    categorical PSI. A feature missing from ``current`` gives statistic 1.0, p-value 0.0,
    drifted. A feature without any non-null value on exactly one side is drifted
    (statistic 1.0 for KS, p-value 0.0, the one-sided PSI); on both sides it is not.

    Results are sorted by ``effect_size`` (the KS statistic for numeric features),
    largest first, then by p-value.

    ``mode`` ``"auto"`` (default) checks exactly unless the baseline is in sketch mode, the
    current window is a ``SketchProfile`` or Parquet/CSV files (a path, directory or glob)
    with more than ``exact_max_rows`` rows (default 10,000,000) or an in-memory window that
    large; ``"sketch"`` forces sketches: KS D with its bound, drifted only when D - bound
    clears the critical value and ``min_effect`` (see :mod:`modelsteward.stats.sketch_ks`).
    Each result's ``mode`` says which produced it.

    ``p_threshold`` is a real number strictly between 0 and 1 (the one rule of every
    detector), ``min_effect`` a finite real >= 0; anything else is an
    :class:`~modelsteward.errors.InvalidParameterError`.
    """
    threshold = float(p_threshold)
    baseline = as_baseline(reference)
    from modelsteward.baseline import sketch_checks as _sketch

    chosen, current = _sketch.choose_check_mode(baseline, current, mode, exact_max_rows)
    if chosen == "sketch":
        profile = _sketch.current_profile(current, baseline)
        return [
            DriftResult(**r)
            for r in _sketch.drift_records(baseline, profile, threshold, min_effect=min_effect)
        ]
    cols = current_columns(current)

    def check(name: str) -> DriftResult:
        profile = baseline.columns[name]
        values = cols.get(name)
        if values is None:
            return _missing(profile, threshold)
        if profile.kind == CATEGORICAL:
            return categorical_drift(profile, values, threshold)
        return numeric_drift(profile, values, threshold)

    names = baseline.feature_names
    results = map_columns(check, names, sum(int(cols[n].shape[0]) for n in names if n in cols))
    results.sort(key=lambda r: (-r.effect_size, r.p_value))
    return results
