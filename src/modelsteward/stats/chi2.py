"""Pearson's chi-square test of homogeneity for categorical columns.

The 2 x K contingency table is built over the union of the categories seen in either sample
(categories with a zero total are dropped); no continuity correction. With a single category
the two samples cannot differ: statistic 0, p-value 1.

    >>> stat, p = chi2_homogeneity({"a": 50, "b": 50}, {"a": 50, "b": 50})
    >>> stat, p
    (0.0, 1.0)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy import special

from modelsteward.errors import DataError, EmptyDataError

__all__ = ["chi2_homogeneity"]


def chi2_homogeneity(
    ref_counts: Mapping[str, int], cur_counts: Mapping[str, int]
) -> tuple[float, float]:
    """(statistic, p-value) of the chi-square homogeneity test of two category counts.

    Equals ``scipy.stats.chi2_contingency(table, correction=False)[:2]`` on the table
    ``[[ref counts], [cur counts]]`` over the union of categories.

        >>> s, p = chi2_homogeneity({"a": 90, "b": 10}, {"a": 50, "b": 50})
        >>> round(s, 4), p < 1e-9
        (38.0952, True)
    """
    keys = list(dict.fromkeys([*ref_counts, *cur_counts]))
    table = np.array(
        [[ref_counts.get(k, 0) for k in keys], [cur_counts.get(k, 0) for k in keys]],
        dtype=np.float64,
    ).reshape(2, len(keys))
    if (table < 0).any() or not np.isfinite(table).all():
        raise DataError("category counts must be finite and non-negative")
    table = table[:, table.sum(axis=0) > 0]
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
