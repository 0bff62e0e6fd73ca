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

from collections.abc import Callable
from typing import Any

import numpy as np

from modelsteward._params import MODE, NON_NEGATIVE, P_THRESHOLD, ROW_LIMIT, validate_params
from modelsteward.baseline.columns import as_columns
from modelsteward.baseline.sketch import (
    DEFAULT_K,
    CategoricalSketch,
    NumericSketch,
    SketchProfile,
)
from modelsteward.baseline.streaming import (
    count_rows,
    dataset_schema,
    is_dataset_source,
    profile_dataset,
    read_table,
    small_csv_table,
)
from modelsteward.errors import DataError, EmptyDataError
from modelsteward.stats.psi import EPS, N_BINS
from modelsteward.stats.sketch_ks import (
    PsiInterval,
    SketchKSResult,
    ks_decision,
    ks_distance_with_bound,
    psi_with_bound,
)

__all__ = [
    "baseline_is_sketch",
    "choose_check_mode",
    "current_profile",
    "degradation_records",
    "drift_records",
    "sketch_ks",
    "sketch_ks_distance",
    "sketch_psi",
    "sketch_psi_edges",
]


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


@validate_params({"p_threshold": P_THRESHOLD, "min_effect": NON_NEGATIVE})
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


@validate_params({"n_bins": N_BINS})
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
    e = sketch_psi_edges(ref, n_bins) if edges is None else np.asarray(edges, dtype=np.float64)
    r, er = _bin_props(ref, e)
    c, ec = _bin_props(cur, e)
    return psi_with_bound(r, c, er, ec, eps=eps)


# --- the detectors' sketch mode ----------------------------------------------------------
# The drift layer builds its result types from these records (plain dicts with the field
# names of DriftResult / DegradationAlert): imports point down, so this module cannot.


def baseline_is_sketch(baseline: Any) -> bool:
    """True when any column of the baseline was fitted in sketch mode."""
    return any(p.mode == "sketch" for p in baseline.columns.values())


@validate_params({"mode": MODE, "exact_max_rows": ROW_LIMIT})
def choose_check_mode(
    baseline: Any, current: Any, mode: str = "auto", exact_max_rows: int | None = None
) -> tuple[str, Any]:
    """(``"exact"`` or ``"sketch"``, the current data to check).

    ``auto`` is sketch mode when the baseline is in sketch mode, the current window is a
    :class:`SketchProfile`, or it has more rows than ``exact_max_rows``; a small Parquet source
    is read into memory for the exact path.
    """
    from modelsteward.baseline.sketch_baseline import resolve_mode

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


def current_profile(current: Any, baseline: Any, k: int = DEFAULT_K) -> SketchProfile:
    """The current window as a :class:`SketchProfile` over the baseline's columns present."""
    if isinstance(current, SketchProfile):
        return current
    if is_dataset_source(current):
        names = set(dataset_schema(current).names)
        kinds = {n: p.kind for n, p in baseline.columns.items() if n in names}
        return profile_dataset(current, kinds, columns=list(kinds), k=k)
    cols = as_columns(current)
    if cols and all(v.shape[0] == 0 for v in cols.values()):
        raise EmptyDataError(
            "the current window has no rows; widen the window or check that production "
            "data is being logged"
        )
    kinds = {n: p.kind for n, p in baseline.columns.items() if n in cols}
    prof = SketchProfile.empty(kinds, k=k)
    n = max((int(cols[c].shape[0]) for c in kinds), default=0)
    step = 1_000_000
    for lo in range(0, max(n, 1), step):
        prof.update({c: cols[c][lo : lo + step] for c in kinds})
    return prof


def _one_sided_psi(counts: np.ndarray, eps: float) -> float:
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    if total <= 0:
        return 0.0
    pct = c / total + eps
    return float(np.sum((pct - eps) * np.log(pct / eps)))


def _record(profile: Any, **fields: Any) -> dict[str, Any]:
    base = {"feature": profile.name, "kind": profile.kind, "mode": "sketch"}
    base.update(fields)
    return base


def _numeric_record(
    profile: Any, ref: NumericSketch, cur: NumericSketch, threshold: float, min_effect: float,
    n_bins: int, eps: float,
) -> dict[str, Any]:
    n_ref, n_cur = ref.n_present, cur.n_present
    if n_ref == 0 or n_cur == 0:
        both = n_ref == 0 and n_cur == 0
        counts = profile.psi_reference_counts if n_ref else np.array([n_cur])
        return _record(
            profile, statistic=0.0 if both else 1.0, p_value=1.0 if both else 0.0,
            is_drifted=not both, psi=0.0 if both or counts is None else _one_sided_psi(counts, eps),
            test="ks", p_threshold=threshold, n_reference=n_ref, n_current=n_cur,
            effect_size=0.0 if both else 1.0, statistic_bound=0.0, psi_bound=0.0,
        )
    ks = sketch_ks(ref, cur, p_threshold=threshold, min_effect=min_effect)
    edges = profile.psi_edges if profile.psi_edges is not None else sketch_psi_edges(ref, n_bins)
    psi_iv = sketch_psi(ref, cur, n_bins=n_bins, eps=eps, edges=edges)
    return _record(
        profile, statistic=ks.statistic, p_value=ks.p_value, is_drifted=ks.is_significant,
        psi=psi_iv.psi, test="ks", p_threshold=threshold, n_reference=n_ref, n_current=n_cur,
        effect_size=ks.statistic, statistic_bound=ks.bound, psi_bound=psi_iv.bound,
    )


def _categorical_record(
    profile: Any, ref: CategoricalSketch, cur: CategoricalSketch, threshold: float, eps: float
) -> dict[str, Any]:
    from modelsteward.stats.chi2 import chi2_homogeneity
    from modelsteward.stats.psi import categorical_psi

    ref_counts, cur_counts = ref.counts(), cur.counts()
    n_ref, n_cur = sum(ref_counts.values()), sum(cur_counts.values())
    bound = (ref.count_error / n_ref if n_ref else 0.0) + (
        cur.count_error / n_cur if n_cur else 0.0
    )
    if n_ref == 0 or n_cur == 0:
        both = n_ref == 0 and n_cur == 0
        counts = np.fromiter((ref_counts or cur_counts).values(), dtype=np.int64)
        return _record(
            profile, statistic=0.0, p_value=1.0 if both else 0.0, is_drifted=not both,
            psi=0.0 if both else _one_sided_psi(counts, eps), test="chi2", p_threshold=threshold,
            n_reference=n_ref, n_current=n_cur, effect_size=0.0 if both else 1.0,
            statistic_bound=bound, psi_bound=0.0,
        )
    stat, p = chi2_homogeneity(ref_counts, cur_counts)
    k = len(set(ref_counts) | set(cur_counts))
    cramers_v = float(np.sqrt(stat / (n_ref + n_cur))) if k > 1 else 0.0
    return _record(
        profile, statistic=stat, p_value=p, is_drifted=bool(p < threshold),
        psi=categorical_psi(ref_counts, cur_counts, eps), test="chi2", p_threshold=threshold,
        n_reference=n_ref, n_current=n_cur, effect_size=min(cramers_v, 1.0),
        statistic_bound=bound, psi_bound=0.0,
    )


def drift_records(
    baseline: Any,
    current: SketchProfile,
    p_threshold: float = 0.01,
    *,
    min_effect: float = 0.0,
    eps: float = 1e-4,
) -> list[dict[str, Any]]:
    """One DriftResult-shaped record per baseline feature, from sketches, worst first.

    Numeric: KS distance from the two sketches with its bound; drifted only when
    ``D - bound`` exceeds the critical value at ``p_threshold`` and ``min_effect``; PSI over
    the baseline's bins with its own bound. Categorical: chi-square and PSI on the counts
    (exact while the frequent-items sketches are exact).
    """
    from modelsteward.baseline.sketch_baseline import sketch_of

    out: list[dict[str, Any]] = []
    for name, profile in baseline.columns.items():
        cur = current.columns.get(name)
        if cur is None:
            out.append(_record(
                profile, statistic=1.0, p_value=0.0, is_drifted=True, psi=0.0, test="missing",
                p_threshold=p_threshold, n_reference=profile.n_valid, n_current=0,
                effect_size=1.0, statistic_bound=0.0, psi_bound=0.0,
            ))
            continue
        ref = sketch_of(profile, k=current.k)
        if isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch):
            out.append(_numeric_record(profile, ref, cur, p_threshold, min_effect,
                                       baseline.n_bins, eps))
        elif isinstance(ref, CategoricalSketch) and isinstance(cur, CategoricalSketch):
            out.append(_categorical_record(profile, ref, cur, p_threshold, eps))
        else:
            raise DataError(
                f"column {name!r} is {profile.kind} in the baseline but {cur.kind} in the "
                "current profile; profile the window with the baseline's kinds"
            )
    out.sort(key=lambda r: (-r["effect_size"], r["p_value"]))
    return out


def degradation_records(
    baseline: Any,
    current: SketchProfile,
    *,
    null_rate_threshold: float = 0.05,
    variance_ratio_threshold: float = 0.1,
    cardinality_ratio_threshold: float = 0.3,
    out_of_range_threshold: float = 0.01,
    unseen_category_threshold: float = 0.01,
    expected_distinct: Callable[[np.ndarray, int], float],
) -> list[dict[str, Any]]:
    """DegradationAlert-shaped records from a current sketch profile, the exact mode's rules.

    Null rates, variances and category counts are exact in a sketch; distinct counts are CPC
    estimates (about 1%); the out-of-range share comes from the quantile sketch and is only
    flagged when it exceeds the bar by more than its rank error.
    """

    alerts: list[dict[str, Any]] = []
    for name, profile in baseline.columns.items():
        cur = current.columns.get(name)
        if cur is None:
            alerts.append(dict(
                feature=name, alert_type="missing_feature", current_value=0.0,
                baseline_value=1.0, threshold=0.0,
                message=f"Feature '{name}' is entirely absent from production data; check "
                "the upstream pipeline or feature store for a renamed or dropped column.",
            ))
            continue
        if cur.n_rows == 0:
            continue
        n_valid = cur.n_present
        ref_rate = profile.null_rate
        cur_rate = cur.n_null / cur.n_rows
        if cur_rate > null_rate_threshold and cur_rate > ref_rate * 3:
            alerts.append(dict(
                feature=name, alert_type="null_rate", current_value=cur_rate,
                baseline_value=ref_rate, threshold=null_rate_threshold,
                message=f"Null rate for '{name}' jumped from {ref_rate:.1%} to {cur_rate:.1%} "
                f"(threshold {null_rate_threshold:.1%} and 3x the training rate); inspect the "
                "upstream pipeline or the API that fills this feature.",
            ))
        if n_valid == 0:
            continue
        if isinstance(cur, NumericSketch) and profile.variance > 0 and cur.n_finite:
            ratio = cur.variance / profile.variance
            if ratio < variance_ratio_threshold:
                alerts.append(dict(
                    feature=name, alert_type="low_variance", current_value=cur.variance,
                    baseline_value=profile.variance, threshold=variance_ratio_threshold,
                    message=f"Variance of '{name}' collapsed to {ratio:.1%} of training "
                    f"variance (threshold {variance_ratio_threshold:.1%}); the feature may be "
                    "constant or defaulted - inspect the upstream pipeline.",
                ))
        if profile.n_distinct > 10:
            counts = profile.value_counts()
            if counts is None:
                per = max(profile.n_valid // max(profile.n_distinct, 1), 1)
                counts = np.full(profile.n_distinct, per, dtype=np.int64)
            expected = expected_distinct(counts, n_valid)
            cur_distinct = cur.n_distinct
            if expected > 0 and cur_distinct / expected < cardinality_ratio_threshold:
                ratio = cur_distinct / expected
                alerts.append(dict(
                    feature=name, alert_type="cardinality_collapse",
                    current_value=float(cur_distinct), baseline_value=expected,
                    threshold=cardinality_ratio_threshold,
                    message=f"Unique values for '{name}' dropped to about {cur_distinct}, "
                    f"{ratio:.1%} of the {expected:.4g} expected in {n_valid} rows drawn from "
                    f"training ({profile.n_distinct} distinct in training; threshold "
                    f"{cardinality_ratio_threshold:.1%}); check for a default value, "
                    "truncation or a broken join upstream.",
                ))
        if isinstance(cur, CategoricalSketch):
            ref_keys = profile.category_counts or {}
            cur_counts = cur.counts()
            unseen = {c: v for c, v in cur_counts.items() if c not in ref_keys}
            share = sum(unseen.values()) / n_valid
            if share > unseen_category_threshold:
                top = sorted(unseen, key=lambda c: -unseen[c])[:5]
                alerts.append(dict(
                    feature=name, alert_type="unseen_categories", current_value=share,
                    baseline_value=0.0, threshold=unseen_category_threshold,
                    message=f"{share:.1%} of '{name}' values are categories never seen in "
                    f"training ({len(unseen)} new, e.g. {', '.join(repr(c) for c in top)}; "
                    f"threshold {unseen_category_threshold:.1%}); check the upstream "
                    "encoding, map the new values, or retrain with them.",
                ))
        elif isinstance(cur, NumericSketch) and profile.n_valid > 0:
            lo, hi = profile.minimum, profile.maximum
            below = float(cur.cdf(np.array([lo]), inclusive=False)[0])
            above = 1.0 - float(cur.cdf(np.array([hi]), inclusive=True)[0])
            share = max(below, 0.0) + max(above, 0.0)
            if profile.n_inf:  # the reference held infinities: only the finite range matters
                share = max(share - cur.n_inf / n_valid, 0.0)
            err = 2.0 * cur.rank_error
            bar = max(out_of_range_threshold, 4.0 / (profile.n_valid + 1))
            if share - err > bar:
                alerts.append(dict(
                    feature=name, alert_type="out_of_range", current_value=share,
                    baseline_value=0.0, threshold=bar,
                    message=f"About {share:.1%} of '{name}' values fall outside the training "
                    f"range [{lo:.4g}, {hi:.4g}] (sketch estimate, error {err:.2%}; threshold "
                    f"{bar:.1%}); check units, encoding or a sentinel value upstream.",
                ))
    return alerts
