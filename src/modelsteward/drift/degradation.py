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
from modelsteward._types import DataLike
from modelsteward.baseline.baseline import Baseline
from modelsteward.baseline.columns import CATEGORICAL
from modelsteward.baseline.profile import ColumnProfile
from modelsteward.baseline.sketch import SketchProfile
from modelsteward.baseline.summary import ColumnSummary
from modelsteward.drift._inputs import as_baseline, map_columns
from modelsteward.drift.data_drift import current_summary, summaries
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
    reference: Baseline | DataLike,
    current: DataLike | SketchProfile,
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
    :func:`~modelsteward.drift.detect_data_drift` (the same rules, read from the sketches:
    distinct counts are estimates and the out-of-range share is flagged only when it exceeds
    the bar by more than its rank error).
    Thresholds of shares (null rate, out of range, unseen categories) are real numbers in
    [0, 1], the ratio thresholds finite reals >= 0; anything else (a bool, a string, NaN) is
    an :class:`~modelsteward.errors.InvalidParameterError`.
    """
    baseline = as_baseline(reference)
    _, pairs, total = summaries(baseline, current, mode, exact_max_rows, for_drift=False)

    def check(name: str) -> list[DegradationAlert]:
        profile = baseline.columns[name]
        cur = pairs[name][1]
        if cur is None:
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
        if isinstance(cur, np.ndarray):
            cur = current_summary(profile, cur)
        return column_alerts(
            profile,
            cur,
            null_rate_threshold,
            variance_ratio_threshold,
            cardinality_ratio_threshold,
            out_of_range_threshold,
            unseen_category_threshold,
        )

    alerts: list[DegradationAlert] = []
    for found in map_columns(check, baseline.feature_names, total):
        alerts.extend(found)
    return alerts


def column_alerts(
    profile: ColumnProfile,
    cur: ColumnSummary,
    null_rate_threshold: float = 0.05,
    variance_ratio_threshold: float = 0.1,
    cardinality_ratio_threshold: float = 0.3,
    out_of_range_threshold: float = 0.01,
    unseen_category_threshold: float = 0.01,
) -> list[DegradationAlert]:
    """The five column rules of one present feature (module docstring), read from a current
    summary: exact values or sketches, whose stated errors make the rules conservative."""
    name, n_rows, n_valid = profile.name, cur.n_rows, cur.n_valid
    out: list[DegradationAlert] = []

    def add(alert_type: str, current: float, baseline: float, threshold: float,
            message: str) -> None:
        out.append(DegradationAlert(feature=name, alert_type=alert_type, current_value=current,
                                    baseline_value=baseline, threshold=threshold,
                                    message=message))

    if n_rows == 0:
        return out
    # 1. null rate spike
    ref_rate, cur_rate = profile.null_rate, cur.n_null / n_rows
    if cur_rate > null_rate_threshold and cur_rate > ref_rate * 3:
        add("null_rate", cur_rate, ref_rate, null_rate_threshold,
            f"Null rate for '{name}' jumped from {ref_rate:.1%} to {cur_rate:.1%} (threshold "
            f"{null_rate_threshold:.1%} and 3x the training rate); inspect the upstream "
            "pipeline or the API that fills this feature.")
    if n_valid == 0:
        return out  # nothing else can be measured on an all-null column
    numeric = profile.kind != CATEGORICAL
    # 2. variance collapse (numeric; population variances over the finite values)
    if numeric and profile.variance > 0 and n_valid > cur.n_inf:
        ratio = cur.variance / profile.variance
        if ratio < variance_ratio_threshold:
            add("low_variance", cur.variance, profile.variance, variance_ratio_threshold,
                f"Variance of '{name}' collapsed to {ratio:.1%} of training variance "
                f"(threshold {variance_ratio_threshold:.1%}); the feature may be constant or "
                "defaulted - inspect the upstream pipeline.")
    # 3. cardinality collapse
    if profile.n_distinct > MIN_REFERENCE_DISTINCT:
        found = profile.multiplicities()
        if found is None:  # a profile without value counts: assume equal frequencies
            per = max(profile.n_valid // max(profile.n_distinct, 1), 1)
            found = (np.array([per]), np.array([profile.n_distinct]))
        expected = expected_distinct(found[0], n_valid, found[1])
        distinct = cur.distinct(cardinality_ratio_threshold * expected)
        if expected > 0 and distinct / expected < cardinality_ratio_threshold:
            about = "about " if cur.distinct_error else ""
            add("cardinality_collapse", float(distinct), expected, cardinality_ratio_threshold,
                f"Unique values for '{name}' dropped to {about}{distinct}, "
                f"{distinct / expected:.1%} of the {_fmt(expected)} expected in {n_valid} rows "
                f"drawn from training ({profile.n_distinct} distinct in training; threshold "
                f"{cardinality_ratio_threshold:.1%}); check for a default value, truncation "
                "or a broken join upstream.")
    # 4. unseen categories / out of range
    if not numeric:
        ref_keys = profile.categories()
        unseen = {k: v for k, v in cur.categories().items() if k not in ref_keys}
        share = sum(unseen.values()) / n_valid
        if share > unseen_category_threshold:
            top = ", ".join(repr(k) for k in sorted(unseen, key=lambda k: -unseen[k])[:5])
            add("unseen_categories", share, 0.0, unseen_category_threshold,
                f"{share:.1%} of '{name}' values are categories never seen in training "
                f"({len(unseen)} new, e.g. {top}; threshold {unseen_category_threshold:.1%}); "
                "check the upstream encoding, map the new values, or retrain with them.")
    elif profile.n_valid > 0:
        lo, hi = profile.minimum, profile.maximum
        below_share = float(cur.cdf(np.array([lo]), inclusive=False)[0])
        above_share = 1.0 - float(cur.cdf(np.array([hi]), inclusive=True)[0])
        err = 2.0 * cur.cdf_error
        n_inf = cur.n_inf if profile.n_inf else 0  # reference infinities: finite range only
        below, above = round(below_share * n_valid), round(above_share * n_valid)
        if err:
            share = max(max(below_share, 0.0) + max(above_share, 0.0) - n_inf / n_valid, 0.0)
            how = f"sketch estimate, error {err:.2%}"
        else:  # exact: shares of whole counts
            share = max(below + above - n_inf, 0) / n_valid
            how = f"{below} below, {above} above" if not n_inf else f"{below + above - n_inf}"
        bar = max(out_of_range_threshold, 4.0 / (profile.n_valid + 1))
        if share - err > bar:
            add("out_of_range", share, 0.0, bar,
                f"{'About ' if err else ''}{share:.1%} of '{name}' values fall outside the "
                f"training range [{_fmt(lo)}, {_fmt(hi)}] ({how}; threshold {bar:.1%}); check "
                "units, encoding or a sentinel value upstream.")
    return out
