"""Pearson's chi-square test of homogeneity for categorical columns, with the unseen mass.

Two parts, because a window's new categories and its mix over known ones need different
reference points:

* **known categories**: a 2 x K table with one column per reference category whose smaller
  expected count is at least :data:`RARE_TOTAL` (Cochran's rule; sparser categories leave
  the table, see :func:`pooled_table`), the window counted on those categories; no
  continuity correction.
* **new categories**: how often the window draws a category the reference never saw, against
  how often the reference itself met one for the first time. By Good-Turing the reference's
  singletons ``f1`` out of ``n`` estimate the chance that a draw is new; the window's ``u``
  new draws out of ``m`` and the ``f1`` singletons are two Poisson counts over exposures
  ``m`` and ``n``, so under no change ``u | u + f1 ~ Binomial(u + f1, m / (m + n))``
  (the conditional test of two Poisson rates); one-sided.

A window without new categories gets the known-categories p-value, which when no column is
sparse equals ``scipy.stats.chi2_contingency(table, correction=False)``. A window with new
categories gets ``min(1, 2 * min(p_known, p_new))`` (Bonferroni over the two parts). The
statistic reported is Pearson's over the known columns plus one column for all new
categories (a size of the difference, not the p-value's own statistic in that case).
The new-category part is approximate: on Zipf vocabularies the reference covers only in
part (300 and 2,000 categories, 5,000-10,000 reference rows) it gave 2.5-3.5% false
positives at p < 0.01 (the known-categories part 0.5-1%; pooling every new category against
a zero reference count gave 24% and 100%).

So a window that shares no category with a reference whose categories repeat is drifted,
while an ID-like column (every reference value a singleton: the reference says nearly every
draw is new) is not drifted just because its values are new again::

    >>> stat, p = chi2_homogeneity({"a": 50, "b": 50}, {"a": 50, "b": 50})
    >>> stat, p
    (0.0, 1.0)
    >>> ref = {f"r{i}": 5 for i in range(200)}           # 200 categories, 5 rows each
    >>> cur = {f"c{i}": 5 for i in range(200)}           # 200 other categories
    >>> chi2_homogeneity(ref, cur)[1] < 1e-100
    True
    >>> ids = {f"r{i}": 1 for i in range(1_000)}         # every value seen once: an ID
    >>> new_ids = {f"c{i}": 1 for i in range(1_000)}
    >>> chi2_homogeneity(ids, new_ids)[1] > 0.1
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special, stats

from modelsteward.errors import DataError, EmptyDataError

__all__ = [
    "RARE_TOTAL",
    "chi2_homogeneity",
    "cramers_v",
    "new_category_pvalue",
    "pooled_table",
]

#: reference categories whose smaller expected count is under this leave the table
RARE_TOTAL = 5.0


def pooled_table(ref_counts: Mapping[str, int], cur_counts: Mapping[str, int], *,
                 pool_sparse: bool = False) -> np.ndarray:
    """The 2 x K table the test uses: the reference categories with enough expected counts,
    then one column for every category only the current sample has (when it has any).
    ``pool_sparse`` keeps the sparse reference categories as one pooled column instead (the
    table the reported statistic is computed on)."""
    keys = list(ref_counts)
    ref = np.array([ref_counts[k] for k in keys], dtype=np.float64)
    cur = np.array([cur_counts.get(k, 0) for k in keys], dtype=np.float64)
    unseen = np.array(
        [v for k, v in cur_counts.items() if k not in ref_counts], dtype=np.float64
    )
    if not (
        np.isfinite(ref).all() and np.isfinite(cur).all() and np.isfinite(unseen).all()
    ) or (ref < 0).any() or (cur < 0).any() or (unseen < 0).any():
        raise DataError("category counts must be finite and non-negative")
    total = ref + cur
    # Cochran: a column whose smaller expected count (over the known categories) is under
    # RARE_TOTAL leaves the table. Pooling such columns instead biases the test: a category
    # the reference holds once or twice was counted *because* it was drawn, so its reference
    # share overstates its probability (measured: 9-23% false positives at p < 0.01 on a
    # 2,000-category Zipf column with the sparse columns pooled, 1% with them left out)
    n_ref, n_known = ref.sum(), cur.sum()
    share = min(n_ref, n_known) / (n_ref + n_known) if n_ref + n_known > 0 else 0.0
    rare = (total > 0) & (total * share < RARE_TOTAL)
    keep = (total > 0) & ~rare
    cols = [np.stack([ref[keep], cur[keep]])]
    if pool_sparse and rare.any():
        cols.append(np.array([[ref[rare].sum()], [cur[rare].sum()]]))
    if unseen.sum() > 0:
        cols.append(np.array([[0.0], [unseen.sum()]]))
    return np.concatenate(cols, axis=1)


def new_category_pvalue(ref_counts: Mapping[str, int], cur_counts: Mapping[str, int]) -> float:
    """One-sided p-value that the window draws new categories more often than the reference
    met categories for the first time (Good-Turing; see the module docstring).

        >>> new_category_pvalue({"a": 9, "b": 1}, {"a": 10})
        1.0
        >>> new_category_pvalue({"a": 10, "b": 10}, {"z": 20}) < 1e-6
        True
    """
    n = float(sum(ref_counts.values()))
    m = float(sum(cur_counts.values()))
    new = int(sum(v for k, v in cur_counts.items() if k not in ref_counts))
    if new == 0 or n == 0 or m == 0:
        return 1.0
    singletons = sum(1 for v in ref_counts.values() if v == 1)
    return float(min(1.0, stats.binom.sf(new - 1, new + singletons, m / (m + n))))


def _pearson(table: np.ndarray) -> tuple[float, float]:
    rows = table.sum(axis=1)
    k = table.shape[1]
    if k < 2 or rows[0] == 0 or rows[1] == 0:
        return 0.0, 1.0
    expected = np.outer(rows, table.sum(axis=0)) / rows.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    p = float(special.chdtrc(k - 1, stat))
    return stat, float(min(max(p, 0.0), 1.0))


def chi2_homogeneity(
    ref_counts: Mapping[str, int], cur_counts: Mapping[str, int]
) -> tuple[float, float]:
    """(statistic, p-value) of the homogeneity test of two category counts (module docstring).

    Without new categories and rare pooling this is
    ``scipy.stats.chi2_contingency(table, correction=False)[:2]``:

        >>> s, p = chi2_homogeneity({"a": 90, "b": 10}, {"a": 50, "b": 50})
        >>> round(s, 4), p < 1e-9
        (38.0952, True)
    """
    table = pooled_table(ref_counts, cur_counts)
    shown = pooled_table(ref_counts, cur_counts, pool_sparse=True)
    rows = shown.sum(axis=1)
    if rows[0] == 0 or rows[1] == 0:
        side = "reference" if rows[0] == 0 else "current"
        raise EmptyDataError(f"the chi-square test needs counted values; the {side} has none")
    has_new = any(v > 0 and k not in ref_counts for k, v in cur_counts.items())
    stat = _pearson(shown)[0]
    if not has_new:
        return stat, _pearson(table)[1]
    p_known = _pearson(table[:, :-1])[1]  # the last column holds the new categories
    p_new = new_category_pvalue(ref_counts, cur_counts)
    return stat, float(min(1.0, 2.0 * min(p_known, p_new)))


def cramers_v(statistic: float, n: int, n_categories: int) -> float:
    """Cramer's V of a 2 x K chi-square statistic over ``n`` values: ``sqrt(stat / n)``
    (``min(2, K) - 1 = 1``), capped at 1; 0 with fewer than two categories.

        >>> cramers_v(38.0952, 200, 2) > 0.43
        True
    """
    if n_categories < 2 or n <= 0:
        return 0.0
    return float(min(np.sqrt(max(statistic, 0.0) / n), 1.0))
