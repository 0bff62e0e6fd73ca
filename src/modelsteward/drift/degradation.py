"""Feature degradation: a feature that broke (absent, null, constant, collapsed, out of its
range, new categories) rather than shifted.

The chapter's four rules, exactly:

* ``missing_feature`` - the feature is absent from the current data;
* ``null_rate`` - current null rate > ``null_rate_threshold`` **and** > 3 x the reference rate;
* ``low_variance`` - reference variance > 0 and current/reference variance
  < ``variance_ratio_threshold`` (population variances over finite values, numeric only);
* ``cardinality_collapse`` - the reference has more than 10 distinct values and
  current distinct / expected distinct < ``cardinality_ratio_threshold``.

The expected distinct count is the number of distinct values expected in a sample of the
current window's size (non-null values) drawn **without replacement** from the reference:
``E = sum_v 1 - C(N - c_v, m) / C(N, m)`` over the reference's distinct values ``v`` with
counts ``c_v``, ``N`` reference and ``m`` current non-null values (``E`` = the reference
distinct count when ``m >= N``, so it equals the chapter's plain ratio when both sizes
match). The plain ratio would fire on every continuous feature whenever the window is
smaller than the training set.

Two more rules:

* ``unseen_categories`` - share of current categorical values in categories the reference
  never had > ``unseen_category_threshold``;
* ``out_of_range`` - share of current numeric values outside the reference's
  ``[minimum, maximum]`` > ``max(out_of_range_threshold, 4 / (N + 1))`` (under no drift a
  value falls outside the range of N reference values with probability 2 / (N + 1), so
  small references get a proportionally higher bar).

    >>> import numpy as np
    >>> from modelsteward.baseline import Baseline
    >>> base = Baseline.fit({"x": np.arange(1000.0)})
    >>> [a.alert_type for a in detect_feature_degradation(base, {"x": np.full(500, 3.0)})]
    ['low_variance', 'cardinality_collapse']
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
from scipy import special

from modelsteward._params import (
    MODE,
    NON_NEGATIVE,
    ROW_LIMIT,
    SHARE,
    Interval,
    validate_params,
)
from modelsteward.baseline.columns import CATEGORICAL, numeric_values
from modelsteward.baseline.profile import ColumnProfile, moments
from modelsteward.drift._inputs import (
    as_baseline,
    current_categories,
    current_columns,
    map_columns,
)
from modelsteward.drift.results import DegradationAlert

__all__ = ["detect_feature_degradation", "expected_distinct"]

MIN_REFERENCE_DISTINCT = 10  # the chapter: only features with more than 10 distinct values


@validate_params({"m": [Interval("int", 0, None)]})
def expected_distinct(
    value_counts: np.ndarray, m: int, multiplicity: np.ndarray | None = None
) -> float:
    """Distinct values expected in ``m`` draws without replacement from a population with
    these value counts: ``sum_v 1 - C(N - c_v, m) / C(N, m)``.

        >>> expected_distinct(np.array([1, 1, 1, 1]), 4)
        4.0
        >>> round(expected_distinct(np.array([1, 1, 1, 1]), 2), 12)
        2.0
        >>> round(expected_distinct(np.array([2, 2]), 1), 6)
        1.0
    """
    if multiplicity is None:
        counts = np.asarray(value_counts, dtype=np.int64)
        uniq, mult = np.unique(counts[counts > 0], return_counts=True)
    else:  # value_counts already holds the distinct counts, multiplicity how often each
        uniq = np.asarray(value_counts, dtype=np.int64)
        mult = np.asarray(multiplicity, dtype=np.int64)
    n = int(np.sum(uniq * mult))
    if m <= 0 or n == 0:
        return 0.0
    if m >= n:
        return float(mult.sum())
    rest = n - uniq  # values that are not v
    log_miss = np.full(uniq.shape, -np.inf)
    ok = rest >= m  # otherwise every sample of size m contains v
    r = rest[ok].astype(np.float64)
    log_miss[ok] = (
        special.gammaln(r + 1)
        - special.gammaln(r - m + 1)
        - special.gammaln(n + 1.0)
        + special.gammaln(n - m + 1.0)
    )
    p_seen = -np.expm1(np.minimum(log_miss, 0.0))
    return float(np.sum(mult * p_seen))


def count_distinct_at_least(
    values: np.ndarray, need: float, central: tuple[float, float] | None = None
) -> int:
    """The number of distinct values, or a lower bound of it that already reaches ``need``.

    Lower bound first, without sorting: values mapped monotonically onto up to 4M
    equal-width cells over ``central`` (e.g. the reference's 0.1%-99.9% range; values outside
    go to the end cells); equal values share a cell, so occupied cells never exceed distinct
    values. Only when that bound falls short are the values sorted and counted exactly.
    """
    n = int(values.shape[0])
    if n == 0:
        return 0
    if n > 50_000 and need > 1:
        with np.errstate(invalid="ignore", over="ignore"):
            lo, hi = central if central else (float(np.min(values)), float(np.max(values)))
            if np.isfinite(lo) and np.isfinite(hi) and hi > lo:
                cells = int(min(1 << 22, 4 * n))
                scale = (cells - 3) / (hi - lo)
                if np.isfinite(scale):
                    t = values - lo
                    t *= scale
                    np.clip(t, -1.0, cells - 2.0, out=t)  # NaN/inf never reach here
                    t += 1.0
                    seen = np.zeros(cells, dtype=bool)
                    seen[t.astype(np.int64)] = True
                    lower = int(np.count_nonzero(seen))
                    if lower >= need:
                        return lower
    full = np.sort(values)
    return int(np.count_nonzero(full[1:] != full[:-1])) + 1


_MULTIPLICITY_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _multiplicities(profile: ColumnProfile) -> tuple[np.ndarray, np.ndarray] | None:
    """(distinct counts c, how many reference values occur c times), cached per profile."""
    key = id(profile)
    cached = _MULTIPLICITY_CACHE.get(key)
    if cached is not None:
        return cached
    if profile.kind != CATEGORICAL and profile.n_distinct == profile.n_valid:
        uniq, mult = np.array([1]), np.array([profile.n_distinct])  # all values distinct
    else:
        counts = profile.value_counts()
        if counts is None:
            return None
        uniq, mult = np.unique(counts[counts > 0], return_counts=True)
    _MULTIPLICITY_CACHE[key] = (uniq, mult)
    weakref.finalize(profile, _MULTIPLICITY_CACHE.pop, key, None)
    return uniq, mult


def _fmt(x: float) -> str:
    return f"{x:.4g}"


@validate_params(
    {
        "null_rate_threshold": SHARE,
        "variance_ratio_threshold": NON_NEGATIVE,
        "cardinality_ratio_threshold": NON_NEGATIVE,
        "out_of_range_threshold": SHARE,
        "unseen_category_threshold": SHARE,
        "mode": MODE,
        "exact_max_rows": ROW_LIMIT,
    }
)
def detect_feature_degradation(
    reference: Any,
    current: Any,
    null_rate_threshold: float = 0.05,
    variance_ratio_threshold: float = 0.1,
    cardinality_ratio_threshold: float = 0.3,
    out_of_range_threshold: float = 0.01,
    unseen_category_threshold: float = 0.01,
    *,
    mode: str = "auto",
    exact_max_rows: int | None = None,
) -> list[DegradationAlert]:
    """Alerts for features that broke structurally, in reference feature order.

    ``reference`` is a Baseline or raw data; ``current`` raw data (dict of arrays, pandas,
    polars, pyarrow). See the module docstring for the exact rules. ``current`` may also be
    a ``SketchProfile`` or Parquet/CSV files; ``mode`` picks exact or sketch checking as in
    :func:`~modelsteward.drift.detect_data_drift` (same rules, from the sketches' counts).
    Thresholds of shares (null rate, out of range, unseen categories) are real numbers in
    [0, 1], the ratio thresholds finite reals >= 0; anything else (a bool, a string, NaN) is
    an :class:`~modelsteward.errors.InvalidParameterError`.
    """
    baseline = as_baseline(reference)
    from modelsteward.baseline import sketch_checks as _sketch

    chosen, current = _sketch.choose_check_mode(baseline, current, mode, exact_max_rows)
    if chosen == "sketch":
        return [
            DegradationAlert(**a)
            for a in _sketch.degradation_records(
                baseline,
                _sketch.current_profile(current, baseline),
                null_rate_threshold=null_rate_threshold,
                variance_ratio_threshold=variance_ratio_threshold,
                cardinality_ratio_threshold=cardinality_ratio_threshold,
                out_of_range_threshold=out_of_range_threshold,
                unseen_category_threshold=unseen_category_threshold,
                expected_distinct=expected_distinct,
            )
        ]
    cols = current_columns(current)

    def check(name: str) -> list[DegradationAlert]:
        profile = baseline.columns[name]
        values = cols.get(name)
        if values is None:
            return [
                DegradationAlert(
                    feature=name,
                    alert_type="missing_feature",
                    current_value=0.0,
                    baseline_value=1.0,
                    threshold=0.0,
                    message=f"Feature '{name}' is entirely absent from production data; check "
                    "the upstream pipeline or feature store for a renamed or dropped column.",
                )
            ]
        if values.shape[0] == 0:
            return []
        return _column_alerts(
            profile,
            values,
            null_rate_threshold,
            variance_ratio_threshold,
            cardinality_ratio_threshold,
            out_of_range_threshold,
            unseen_category_threshold,
        )

    names = baseline.feature_names
    total = sum(int(cols[n].shape[0]) for n in names if n in cols)
    alerts: list[DegradationAlert] = []
    for found in map_columns(check, names, total):
        alerts.extend(found)
    return alerts


def _column_alerts(
    profile: ColumnProfile,
    values: np.ndarray,
    null_rate_threshold: float,
    variance_ratio_threshold: float,
    cardinality_ratio_threshold: float,
    out_of_range_threshold: float,
    unseen_category_threshold: float,
) -> list[DegradationAlert]:
    name = profile.name
    n_rows = int(values.shape[0])
    out: list[DegradationAlert] = []
    valid: np.ndarray | None = None  # numeric: the non-null values, unsorted
    finite: np.ndarray | None = None
    cur_counts: dict[str, int] | None = None
    if profile.kind == CATEGORICAL:
        cur_counts, n_null = current_categories(values)
        n_valid = n_rows - n_null
    else:
        x = numeric_values(name, values)
        nan = np.isnan(x)
        n_null = int(np.count_nonzero(nan))
        valid = x if n_null == 0 else x[~nan]
        n_valid = int(valid.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            all_finite = bool(np.isfinite(np.sum(valid)))
        finite = valid if all_finite else valid[np.isfinite(valid)]

    # 1. null rate spike
    ref_rate = profile.null_rate
    cur_rate = n_null / n_rows
    if cur_rate > null_rate_threshold and cur_rate > ref_rate * 3:
        out.append(
            DegradationAlert(
                feature=name,
                alert_type="null_rate",
                current_value=cur_rate,
                baseline_value=ref_rate,
                threshold=null_rate_threshold,
                message=f"Null rate for '{name}' jumped from {ref_rate:.1%} to {cur_rate:.1%} "
                f"(threshold {null_rate_threshold:.1%} and 3x the training rate); inspect the "
                "upstream pipeline or the API that fills this feature.",
            )
        )
    if n_valid == 0:
        return out  # nothing else can be measured on an all-null column

    # 2. variance collapse (numeric)
    if finite is not None and profile.variance > 0:
        if finite.size:
            cur_var = moments(finite)[1]
            ratio = cur_var / profile.variance
            if ratio < variance_ratio_threshold:
                out.append(
                    DegradationAlert(
                        feature=name,
                        alert_type="low_variance",
                        current_value=cur_var,
                        baseline_value=profile.variance,
                        threshold=variance_ratio_threshold,
                        message=f"Variance of '{name}' collapsed to {ratio:.1%} of training "
                        f"variance (threshold {variance_ratio_threshold:.1%}); the feature may be "
                        "constant or defaulted - inspect the upstream pipeline.",
                    )
                )

    # 3. cardinality collapse
    if profile.n_distinct > MIN_REFERENCE_DISTINCT:
        found = _multiplicities(profile)
        if found is None:  # a profile without value counts: assume equal frequencies
            per = max(profile.n_valid // max(profile.n_distinct, 1), 1)
            found = (np.array([per]), np.array([profile.n_distinct]))
        expected = expected_distinct(found[0], n_valid, found[1])
        need = cardinality_ratio_threshold * expected
        if cur_counts is not None:
            cur_distinct = len(cur_counts)
        else:
            assert finite is not None and valid is not None
            central = None
            ref_sorted = profile.sorted_values
            if ref_sorted is not None and ref_sorted.size > 1000:
                k = ref_sorted.size // 1000
                central = (float(ref_sorted[k]), float(ref_sorted[-1 - k]))
            cur_distinct = count_distinct_at_least(finite, need, central)
            if finite.shape[0] != valid.shape[0]:  # +inf and -inf are values too
                cur_distinct += int(np.isposinf(valid).any()) + int(np.isneginf(valid).any())
        if expected > 0:
            ratio = cur_distinct / expected
            if ratio < cardinality_ratio_threshold:
                out.append(
                    DegradationAlert(
                        feature=name,
                        alert_type="cardinality_collapse",
                        current_value=float(cur_distinct),
                        baseline_value=expected,
                        threshold=cardinality_ratio_threshold,
                        message=f"Unique values for '{name}' dropped to {cur_distinct}, "
                        f"{ratio:.1%} of the {_fmt(expected)} expected in {n_valid} rows drawn "
                        f"from training ({profile.n_distinct} distinct in training; threshold "
                        f"{cardinality_ratio_threshold:.1%}); check for a default value, "
                        "truncation or a broken join upstream.",
                    )
                )

    # 4. unseen categories / out of range
    if cur_counts is not None:
        ref_keys = profile.category_counts or {}
        unseen = {k: v for k, v in cur_counts.items() if k not in ref_keys}
        share = sum(unseen.values()) / n_valid
        if share > unseen_category_threshold:
            top = sorted(unseen, key=lambda k: -unseen[k])[:5]
            out.append(
                DegradationAlert(
                    feature=name,
                    alert_type="unseen_categories",
                    current_value=share,
                    baseline_value=0.0,
                    threshold=unseen_category_threshold,
                    message=f"{share:.1%} of '{name}' values are categories never seen in "
                    f"training ({len(unseen)} new, e.g. {', '.join(repr(k) for k in top)}; "
                    f"threshold {unseen_category_threshold:.1%}); check the upstream encoding, "
                    "map the new values, or retrain with them.",
                )
            )
    elif valid is not None and finite is not None and profile.n_valid > 0:
        lo, hi = profile.minimum, profile.maximum
        # the reference itself held infinities: only the finite range matters
        inside = finite if profile.n_inf else valid
        below = int(np.count_nonzero(inside < lo))
        above = int(np.count_nonzero(inside > hi))
        share = (below + above) / n_valid
        bar = max(out_of_range_threshold, 4.0 / (profile.n_valid + 1))
        if share > bar:
            out.append(
                DegradationAlert(
                    feature=name,
                    alert_type="out_of_range",
                    current_value=share,
                    baseline_value=0.0,
                    threshold=bar,
                    message=f"{share:.1%} of '{name}' values fall outside the training range "
                    f"[{_fmt(lo)}, {_fmt(hi)}] ({below} below, {above} above; threshold "
                    f"{bar:.1%}); check units, encoding or a sentinel value upstream.",
                )
            )
    return out
