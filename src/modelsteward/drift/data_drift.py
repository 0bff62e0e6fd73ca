"""Data drift: does each feature's distribution in the current window differ from the
reference? KS for numeric features, chi-square for categorical ones, PSI beside both.

Each rule is written once against :class:`~modelsteward.baseline.summary.ColumnSummary`:
the reference profile and the current window (its raw values in exact mode, its sketches in
sketch mode) answer the same questions, the sketches with an error bound that the decision
subtracts. A feature is drifted when its p-value is below ``p_threshold`` **and** its effect
size (KS D minus the bound, or Cramer's V) is at least ``min_effect``, in both modes.

    >>> import numpy as np
    >>> from modelsteward.baseline import Baseline
    >>> rng = np.random.default_rng(0)
    >>> base = Baseline.fit({"x": rng.normal(size=5_000), "y": rng.normal(size=5_000)})
    >>> res = detect_data_drift(base, {"x": rng.normal(0.5, 1, 2_000), "y": rng.normal(size=2_000)})
    >>> [(r.feature, r.is_drifted) for r in res]
    [('x', True), ('y', False)]
"""

from __future__ import annotations

import numpy as np

from modelsteward._params import MODE, NON_NEGATIVE, P_THRESHOLD, ROW_LIMIT, validate_params
from modelsteward._types import DataLike
from modelsteward.baseline.baseline import Baseline
from modelsteward.baseline.columns import CATEGORICAL
from modelsteward.baseline.profile import ColumnProfile
from modelsteward.baseline.sketch import SketchProfile
from modelsteward.baseline.sketch_checks import choose_check_mode, current_profile
from modelsteward.baseline.summary import (
    ColumnSummary,
    ExactColumn,
    bin_proportions,
    ks_distance,
)
from modelsteward.drift._inputs import as_baseline, current_columns, map_columns
from modelsteward.drift.results import DriftResult
from modelsteward.errors import DataError
from modelsteward.stats._grid import extremes_and_counts
from modelsteward.stats.chi2 import chi2_homogeneity, cramers_v
from modelsteward.stats.ks import ks_from_extremes, ks_from_sorted
from modelsteward.stats.psi import (
    categorical_psi,
    one_sided_psi,
    psi_bin_counts,
    psi_from_counts,
)
from modelsteward.stats.sketch_ks import ks_decision, psi_with_bound

__all__ = [
    "categorical_drift",
    "current_summary",
    "detect_data_drift",
    "numeric_drift",
    "summaries",
]

DEFAULT_EPS = 1e-4
#: a current column: its summary (sketch mode), its raw values (exact mode) or None (absent)
Current = ColumnSummary | np.ndarray | None
#: from this many current values on, the cell grid replaces the full sort (see stats._grid)
_GRID_MIN_VALUES = 30_000


def _result(profile: ColumnProfile, mode: str, threshold: float, *, statistic: float,
            p_value: float, is_drifted: bool, psi: float, test: str, n_reference: int,
            n_current: int, effect_size: float, statistic_bound: float = 0.0,
            psi_bound: float = 0.0) -> DriftResult:
    return DriftResult(feature=profile.name, statistic=statistic, p_value=p_value,
                       is_drifted=is_drifted, psi=psi, test=test, kind=profile.kind,
                       p_threshold=threshold, n_reference=n_reference, n_current=n_current,
                       effect_size=effect_size, mode=mode, statistic_bound=statistic_bound,
                       psi_bound=psi_bound)


def _degenerate(profile: ColumnProfile, test: str, n_ref: int, n_cur: int,
                counts: np.ndarray | None, threshold: float, mode: str,
                bound: float = 0.0) -> DriftResult:
    """One side has no non-null value: same (both empty) or completely different."""
    if n_ref == 0 and n_cur == 0:
        return _result(profile, mode, threshold, statistic=0.0, p_value=1.0, is_drifted=False,
                       psi=0.0, test=test, n_reference=0, n_current=0, effect_size=0.0,
                       statistic_bound=bound)
    return _result(profile, mode, threshold, statistic=1.0 if test == "ks" else 0.0,
                   p_value=0.0, is_drifted=True,
                   psi=one_sided_psi(counts) if counts is not None else 0.0, test=test,
                   n_reference=n_ref, n_current=n_cur, effect_size=1.0, statistic_bound=bound)


def _exact_ks(profile: ColumnProfile, raw: np.ndarray, edges: np.ndarray) -> tuple[
    int, float, float, np.ndarray
]:
    """(n_current, KS statistic, p-value, current PSI counts) of raw values (NaN for nulls)
    against the sorted reference: the cell grid (fitted state of the profile) on large
    windows, a sort else. n_current may be 0."""
    ref = profile.sorted_values
    assert ref is not None
    if raw.shape[0] >= _GRID_MIN_VALUES and ref.shape[0] >= _GRID_MIN_VALUES // 10:
        grid = profile.grid()
        found = None if grid is None else extremes_and_counts(grid, ref, raw, edges[1:-1])
        if found is not None:
            plus, minus, n_cur, below = found
            stat, p = ks_from_extremes(plus, minus, int(ref.shape[0]), n_cur)
            return n_cur, stat, p, np.diff(np.concatenate(([0], below, [n_cur])))
    cur = np.sort(raw)
    if cur.size and cur[-1] != cur[-1]:  # NaN sorts last
        cur = cur[: int(np.searchsorted(cur, np.nan, side="left"))]
    if cur.size == 0:
        return 0, 0.0, 1.0, np.zeros(edges.shape[0] - 1, dtype=np.int64)
    stat, p = ks_from_sorted(ref, cur)
    return int(cur.size), stat, p, psi_bin_counts(cur, edges)


def _drifted(p_value: float, effect: float, threshold: float, min_effect: float) -> bool:
    """The one decision of every test: significant and large enough."""
    return bool(p_value < threshold and effect >= min_effect)


def numeric_drift(
    profile: ColumnProfile,
    ref: ColumnSummary,
    cur: ColumnSummary,
    threshold: float,
    *,
    min_effect: float = 0.0,
    eps: float = DEFAULT_EPS,
    mode: str = "exact",
) -> DriftResult:
    """KS and PSI of one numeric column. Against an exact profile with raw current values
    the statistic and p-value are scipy's ``ks_2samp``; otherwise D comes from the two
    summaries' CDFs with the bound their errors allow, and the decision uses ``D - bound``."""
    n_ref = ref.n_valid
    edges, ref_counts = profile.psi_edges, profile.psi_reference_counts
    exact = ref is profile and profile.sorted_values is not None and n_ref > 0
    if isinstance(cur, ExactColumn) and exact and edges is not None:
        n_cur, stat, p, cur_counts = _exact_ks(profile, cur.raw, edges)
    else:
        exact, n_cur = False, cur.n_valid
    if n_ref == 0 or n_cur == 0 or edges is None:
        counts = ref_counts if n_ref else np.array([n_cur])
        return _degenerate(profile, "ks", n_ref, n_cur, counts, threshold, mode)
    if exact:
        assert ref_counts is not None
        bound, psi_value, psi_bound = 0.0, psi_from_counts(ref_counts, cur_counts, eps), 0.0
    else:
        d, bound = ks_distance(ref, cur)
        ks = ks_decision(d, bound, n_ref, n_cur, p_threshold=threshold, min_effect=min_effect)
        stat, p = ks.statistic, ks.p_value
        r, er = bin_proportions(ref, edges)
        c, ec = bin_proportions(cur, edges)
        iv = psi_with_bound(r, c, er, ec, eps=eps)
        psi_value, psi_bound = iv.psi, iv.bound
    return _result(profile, mode, threshold, statistic=stat, p_value=p,
                   is_drifted=_drifted(p, max(stat - bound, 0.0), threshold, min_effect),
                   psi=psi_value, test="ks", n_reference=n_ref, n_current=n_cur,
                   effect_size=stat, statistic_bound=bound, psi_bound=psi_bound)


def categorical_drift(
    profile: ColumnProfile,
    ref: ColumnSummary,
    cur: ColumnSummary,
    threshold: float,
    *,
    min_effect: float = 0.0,
    eps: float = DEFAULT_EPS,
    mode: str = "exact",
) -> DriftResult:
    """Chi-square homogeneity (with the unseen-category mass, see
    :mod:`modelsteward.stats.chi2`), Cramer's V and categorical PSI of one categorical
    column; ``statistic_bound`` is the summed relative count error of the two sides."""
    ref_counts, cur_counts = ref.categories(), cur.categories()
    n_ref, n_cur = sum(ref_counts.values()), sum(cur_counts.values())
    bound = (ref.categories_error / n_ref if n_ref else 0.0) + (
        cur.categories_error / n_cur if n_cur else 0.0
    )
    if n_ref == 0 or n_cur == 0:
        counts = np.fromiter((ref_counts or cur_counts).values(), dtype=np.int64)
        return _degenerate(profile, "chi2", n_ref, n_cur, counts, threshold, mode, bound)
    stat, p = chi2_homogeneity(ref_counts, cur_counts)
    effect = cramers_v(stat, n_ref + n_cur, len(set(ref_counts) | set(cur_counts)))
    return _result(profile, mode, threshold, statistic=stat, p_value=p,
                   is_drifted=_drifted(p, effect, threshold, min_effect),
                   psi=categorical_psi(ref_counts, cur_counts, eps), test="chi2",
                   n_reference=n_ref, n_current=n_cur, effect_size=effect,
                   statistic_bound=bound)


def _missing(profile: ColumnProfile, threshold: float, mode: str) -> DriftResult:
    return _result(profile, mode, threshold, statistic=1.0, p_value=0.0, is_drifted=True,
                   psi=0.0, test="missing", n_reference=profile.n_valid, n_current=0,
                   effect_size=1.0)


def summaries(
    baseline: Baseline, current: DataLike | SketchProfile, mode: str = "auto",
    exact_max_rows: int | None = None, *, for_drift: bool = True,
) -> tuple[str, dict[str, tuple[ColumnSummary, Current]], int]:
    """(mode used, ``{feature: (reference summary, current column or None)}``, values).

    Exact mode pairs each profile with the window's raw values (made a summary by
    :func:`current_summary` where it is checked, in parallel); sketch mode with the window's
    sketches, and (``for_drift``) the reference's sketch for numeric columns, so both CDFs
    carry their rank error. A current column of another kind is a DataError."""
    chosen, current = choose_check_mode(baseline, current, mode, exact_max_rows)
    out: dict[str, tuple[ColumnSummary, Current]] = {}
    if chosen == "sketch":
        prof = current_profile(current, baseline)
        for name, profile in baseline.columns.items():
            sk = prof.columns.get(name)
            if sk is not None and sk.kind != profile.kind:
                raise DataError(
                    f"column {name!r} is {profile.kind} in the baseline but {sk.kind} in the "
                    "current profile; profile the window with the baseline's kinds"
                )
            numeric_ref = for_drift and profile.kind != CATEGORICAL
            out[name] = (profile.sketch(prof.k) if numeric_ref else profile, sk)
        return chosen, out, 0
    cols = current_columns(current)
    total = 0
    for name, profile in baseline.columns.items():
        values = cols.get(name)
        if values is None:
            out[name] = (profile, None)
            continue
        total += int(values.shape[0])
        out[name] = (profile, values)
    return chosen, out, total


def current_summary(profile: ColumnProfile, values: np.ndarray) -> ExactColumn:
    """A current column's raw values as the exact summary the rules read."""
    return ExactColumn(profile.name, values, profile.kind, profile.central_range())


@validate_params(
    {"p_threshold": P_THRESHOLD, "mode": MODE, "exact_max_rows": ROW_LIMIT,
     "min_effect": NON_NEGATIVE}
)
def detect_data_drift(
    reference: Baseline | DataLike,
    current: DataLike | SketchProfile,
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
    A feature is drifted when its p-value is below ``p_threshold`` and its effect size
    (KS D, minus the sketch bound in sketch mode; Cramer's V) is at least ``min_effect``.

    Results are sorted by ``effect_size`` (the KS statistic for numeric features),
    largest first, then by p-value.

    ``mode`` ``"auto"`` (default) checks exactly unless the baseline is in sketch mode, the
    current window is a ``SketchProfile`` or Parquet/CSV files (a path, directory or glob)
    with more than ``exact_max_rows`` rows (default 10,000,000) or an in-memory window that
    large; ``"sketch"`` forces sketches: KS D with its bound, drifted only when D - bound
    is significant (see :mod:`modelsteward.stats.sketch_ks`). Each result's ``mode`` says
    which produced it.

    ``p_threshold`` is a real number strictly between 0 and 1 (the one rule of every
    detector), ``min_effect`` a finite real >= 0; anything else is an
    :class:`~modelsteward.errors.InvalidParameterError`.
    """
    threshold = float(p_threshold)
    baseline = as_baseline(reference)
    chosen, pairs, total = summaries(baseline, current, mode, exact_max_rows)

    def check(name: str) -> DriftResult:
        profile = baseline.columns[name]
        ref, cur = pairs[name]
        if cur is None:
            return _missing(profile, threshold, chosen)
        if isinstance(cur, np.ndarray):
            cur = current_summary(profile, cur)
        rule = categorical_drift if profile.kind == CATEGORICAL else numeric_drift
        return rule(profile, ref, cur, threshold, min_effect=min_effect, mode=chosen)

    results = map_columns(check, baseline.feature_names, total)
    results.sort(key=lambda r: (-r.effect_size, r.p_value))
    return results
