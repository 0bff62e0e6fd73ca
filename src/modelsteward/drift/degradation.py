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

import math
from typing import Any

import numpy as np
from scipy import special

from modelsteward.baseline.columns import CATEGORICAL
from modelsteward.baseline.profile import ColumnProfile, moments
from modelsteward.drift._inputs import (
    as_baseline,
    current_categories,
    current_columns,
    sorted_valid,
)
from modelsteward.drift.results import DegradationAlert
from modelsteward.errors import DataError

__all__ = ["detect_feature_degradation", "expected_distinct"]

MIN_REFERENCE_DISTINCT = 10  # the chapter: only features with more than 10 distinct values


def expected_distinct(value_counts: np.ndarray, m: int) -> float:
    """Distinct values expected in ``m`` draws without replacement from a population with
    these value counts: ``sum_v 1 - C(N - c_v, m) / C(N, m)``.

        >>> expected_distinct(np.array([1, 1, 1, 1]), 4)
        4.0
        >>> round(expected_distinct(np.array([1, 1, 1, 1]), 2), 12)
        2.0
        >>> round(expected_distinct(np.array([2, 2]), 1), 6)
        1.0
    """
    counts = np.asarray(value_counts, dtype=np.int64)
    counts = counts[counts > 0]
    n = int(counts.sum())
    if m <= 0 or n == 0:
        return 0.0
    if m >= n:
        return float(counts.size)
    uniq, mult = np.unique(counts, return_counts=True)
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


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _check_ratio(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0:
        raise DataError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


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
    """
    null_rate_threshold = _check_ratio("null_rate_threshold", null_rate_threshold)
    variance_ratio_threshold = _check_ratio("variance_ratio_threshold", variance_ratio_threshold)
    cardinality_ratio_threshold = _check_ratio(
        "cardinality_ratio_threshold", cardinality_ratio_threshold
    )
    out_of_range_threshold = _check_ratio("out_of_range_threshold", out_of_range_threshold)
    unseen_category_threshold = _check_ratio("unseen_category_threshold", unseen_category_threshold)
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
    alerts: list[DegradationAlert] = []
    for name, profile in baseline.columns.items():
        values = cols.get(name)
        if values is None:
            alerts.append(
                DegradationAlert(
                    feature=name,
                    alert_type="missing_feature",
                    current_value=0.0,
                    baseline_value=1.0,
                    threshold=0.0,
                    message=f"Feature '{name}' is entirely absent from production data; check "
                    "the upstream pipeline or feature store for a renamed or dropped column.",
                )
            )
            continue
        if values.shape[0] == 0:
            continue
        alerts.extend(
            _column_alerts(
                profile,
                values,
                null_rate_threshold,
                variance_ratio_threshold,
                cardinality_ratio_threshold,
                out_of_range_threshold,
                unseen_category_threshold,
            )
        )
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
    cur_sorted: np.ndarray | None = None
    cur_counts: dict[str, int] | None = None
    if profile.kind == CATEGORICAL:
        cur_counts, n_null = current_categories(values)
        n_valid = n_rows - n_null
        cur_distinct = len(cur_counts)
    else:
        cur_sorted = sorted_valid(name, values)
        n_valid = int(cur_sorted.shape[0])
        n_null = n_rows - n_valid
        cur_distinct = (
            int(np.count_nonzero(cur_sorted[1:] != cur_sorted[:-1])) + 1 if n_valid else 0
        )

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
    if cur_sorted is not None and profile.variance > 0:
        finite = cur_sorted[np.isfinite(cur_sorted)]
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
        counts = profile.value_counts()
        if counts is None:  # a profile without value counts: assume equal frequencies
            n_ref = profile.n_valid
            per = max(n_ref // max(profile.n_distinct, 1), 1)
            counts = np.full(profile.n_distinct, per, dtype=np.int64)
        expected = expected_distinct(counts, n_valid)
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
    elif cur_sorted is not None and profile.n_valid > 0:
        lo, hi = profile.minimum, profile.maximum
        if profile.n_inf:  # the reference itself held infinities: only finite range matters
            finite = np.isfinite(cur_sorted)
            below = int(np.count_nonzero(cur_sorted[finite] < lo))
            above = int(np.count_nonzero(cur_sorted[finite] > hi))
        else:
            below = int(np.searchsorted(cur_sorted, lo, side="left"))
            above = n_valid - int(np.searchsorted(cur_sorted, hi, side="right"))
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
