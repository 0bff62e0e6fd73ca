"""Pearson's chi-square test of homogeneity for categorical columns.

The 2 x K contingency table has one column per reference category, with two pooled columns
so that sparse categories cannot hide a difference (no continuity correction):

* **unseen**: every category the reference never saw, pooled into one column. The mass the
  current window puts on new categories counts as one block however thinly it is spread: a
  window that shares no category with the reference is drifted (p ~ 0), where 1,000 new
  singleton columns would each add ~1 to the statistic and 1 degree of freedom (p ~ 0.5).
* **rare**: reference categories seen fewer than :data:`RARE_TOTAL` times in both samples
  together, pooled into one column (Cochran's rule of thumb for small expected counts).

Categories with a zero total are dropped. With at most one unseen and one rare category the
table is the plain union table, and the result equals
``scipy.stats.chi2_contingency(table, correction=False)``. With a single column the two
samples cannot differ: statistic 0, p-value 1.

    >>> stat, p = chi2_homogeneity({"a": 50, "b": 50}, {"a": 50, "b": 50})
    >>> stat, p
    (0.0, 1.0)
    >>> ref = {f"r{i}": 1 for i in range(1_000)}
    >>> cur = {f"c{i}": 1 for i in range(1_000)}
    >>> chi2_homogeneity(ref, cur)[1] < 1e-100
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special

from modelsteward.errors import DataError, EmptyDataError

__all__ = ["RARE_TOTAL", "chi2_homogeneity", "pooled_table"]

#: reference categories with fewer values than this in both samples together are pooled
RARE_TOTAL = 5


def pooled_table(ref_counts: Mapping[str, int], cur_counts: Mapping[str, int]) -> np.ndarray:
    """The 2 x K table the test uses: reference categories (rare ones pooled), then one
    column for every category only the current sample has; zero-total columns dropped."""
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
    rare = (total > 0) & (total < RARE_TOTAL)
    keep = total >= RARE_TOTAL
    cols = [np.stack([ref[keep], cur[keep]])]
    if rare.any():
        cols.append(np.array([[ref[rare].sum()], [cur[rare].sum()]]))
    if unseen.sum() > 0:
        cols.append(np.array([[0.0], [unseen.sum()]]))
    return np.concatenate(cols, axis=1)


def chi2_homogeneity(
    ref_counts: Mapping[str, int], cur_counts: Mapping[str, int]
) -> tuple[float, float]:
    """(statistic, p-value) of the chi-square homogeneity test of two category counts.

    Equals ``scipy.stats.chi2_contingency(pooled_table(ref, cur), correction=False)[:2]``
    (see the module docstring for the pooling).

        >>> s, p = chi2_homogeneity({"a": 90, "b": 10}, {"a": 50, "b": 50})
        >>> round(s, 4), p < 1e-9
        (38.0952, True)
    """
    table = pooled_table(ref_counts, cur_counts)
    rows = table.sum(axis=1)
    if rows[0] == 0 or rows[1] == 0:
        side = "reference" if rows[0] == 0 else "current"
        raise EmptyDataError(f"the chi-square test needs counted values; the {side} has none")
    k = table.shape[1]
    if k < 2:
        return 0.0, 1.0
    expected = np.outer(rows, table.sum(axis=0)) / rows.sum()
    stat = float(np.sum((table - expected) ** 2 / expected))
    p = float(special.chdtrc(k - 1, stat))
    return stat, float(min(max(p, 0.0), 1.0))
