"""What every rule needs from a column: the :class:`ColumnSummary` protocol.

Three implementations: :class:`~modelsteward.baseline.profile.ColumnProfile` (the fitted
reference; exact: its sorted values, sketch: its decoded sketch), the sketches of
:mod:`modelsteward.baseline.sketch` (KLL, HyperLogLog, frequent items: a current window in
sketch mode) and :class:`ExactColumn` (a current window's raw values). Each states the error
of what it answers (0 when exact), so a rule written once against the protocol carries the
bound into its decision. The functions below are the protocol's derived quantities: the KS
distance with its bound, PSI bin edges and bin proportions with their errors.

    >>> import numpy as np
    >>> cur = ExactColumn("x", np.array([1.0, 2.0, np.nan, 4.0]))
    >>> cur.n_rows, cur.n_null, cur.n_valid, cur.cdf(np.array([2.0])).tolist()
    (4, 1, 3, [0.6666666666666666])
    >>> ks_distance(cur, ExactColumn("x", np.array([10.0, 11.0])))
    (1.0, 0.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from modelsteward.baseline.columns import CATEGORICAL, NUMERIC, category_counts, numeric_values
from modelsteward.stats.moments import count_distinct_at_least, moments
from modelsteward.stats.sketch_ks import ks_distance_with_bound

__all__ = [
    "ColumnSummary",
    "ExactColumn",
    "bin_proportions",
    "ks_distance",
    "quantile_edges",
]


@runtime_checkable
class ColumnSummary(Protocol):
    """What a rule may ask of one column (reference or current, exact or sketched).

    Counts (``n_rows``, ``n_null``, ``n_valid`` = non-null, ``n_inf``) and the moments over
    the finite values (``mean``, population ``variance``, ``minimum``, ``maximum``) are exact
    in every implementation. Approximate answers state their error: ``cdf`` within
    ``cdf_error`` (normalized rank error), ``distinct`` within ``distinct_error`` (relative),
    each of ``categories`` within ``categories_error`` (absolute count).
    """

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def n_rows(self) -> int: ...
    @property
    def n_null(self) -> int: ...
    @property
    def n_valid(self) -> int: ...
    @property
    def n_inf(self) -> int: ...
    @property
    def mean(self) -> float: ...
    @property
    def variance(self) -> float: ...
    @property
    def minimum(self) -> float: ...
    @property
    def maximum(self) -> float: ...
    @property
    def cdf_error(self) -> float: ...
    @property
    def distinct_error(self) -> float: ...
    @property
    def categories_error(self) -> int: ...

    def cdf(self, points: np.ndarray, inclusive: bool = True) -> np.ndarray:
        """Share of non-null values ``<= x`` (``inclusive``) or ``< x`` at sorted points."""
        ...

    def quantiles(self, ranks: Sequence[float]) -> np.ndarray:
        """Values at normalized ranks in [0, 1]."""
        ...

    def support(self) -> np.ndarray:
        """Sorted unique values where :meth:`cdf` steps."""
        ...

    def distinct(self, need: float = float("inf")) -> int:
        """Distinct non-null values, or a lower bound of them that already reaches ``need``."""
        ...

    def categories(self) -> dict[str, int]:
        """Category -> count (empty for a numeric column)."""
        ...


class ExactColumn:
    """A current window's column, held as its raw values: every answer exact.

    ``central`` (the reference's central range) speeds up :meth:`distinct` on large windows.
    """

    cdf_error = 0.0
    distinct_error = 0.0
    categories_error = 0

    def __init__(
        self,
        name: str,
        values: np.ndarray,
        kind: str = NUMERIC,
        central: tuple[float, float] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.n_rows = int(values.shape[0])
        self._central = central
        self._counts: dict[str, int] = {}
        self._values: np.ndarray | None = None
        self._n_null = 0
        self._finite_values: np.ndarray | None = None
        self._mean_var: tuple[float, float] | None = None
        self.raw = np.zeros(0)  # numeric: float64, NaN for nulls, unsorted
        if kind == CATEGORICAL:
            self._counts, self._n_null = category_counts(values)
            self._values = np.zeros(0)
        else:
            self.raw = numeric_values(name, values)

    def _drop_nulls(self) -> np.ndarray:
        if self._values is None:  # on first use: the exact KS reads ``raw`` and never needs it
            nan = np.isnan(self.raw)
            self._n_null = int(np.count_nonzero(nan))
            self._values = self.raw if self._n_null == 0 else self.raw[~nan]
        return self._values

    @property
    def values(self) -> np.ndarray:
        """The non-null values, unsorted (numeric columns)."""
        return self._drop_nulls()

    @property
    def n_null(self) -> int:
        self._drop_nulls()
        return self._n_null

    @property
    def n_valid(self) -> int:
        return self.n_rows - self.n_null

    @property
    def _finite(self) -> np.ndarray:
        if self._finite_values is None:
            v = self.values
            with np.errstate(over="ignore", invalid="ignore"):
                all_finite = bool(np.isfinite(np.sum(v)))
            self._finite_values = v if all_finite else v[np.isfinite(v)]
        return self._finite_values

    @property
    def n_inf(self) -> int:
        return self.n_valid - int(self._finite.shape[0]) if self.kind != CATEGORICAL else 0

    @property
    def mean(self) -> float:
        return self._moments()[0]

    @property
    def variance(self) -> float:
        return self._moments()[1]

    def _moments(self) -> tuple[float, float]:
        if self._mean_var is None:
            self._mean_var = moments(self._finite)
        return self._mean_var

    @property
    def minimum(self) -> float:
        return float(self._finite.min()) if self._finite.size else 0.0

    @property
    def maximum(self) -> float:
        return float(self._finite.max()) if self._finite.size else 0.0

    def cdf(self, points: np.ndarray, inclusive: bool = True) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64)
        if self.n_valid == 0:
            return np.zeros(pts.size)
        if pts.size > 8:  # many points: sort once
            found = np.searchsorted(np.sort(self.values), pts, "right" if inclusive else "left")
            return np.asarray(found / self.n_valid, dtype=np.float64)
        op = np.less_equal if inclusive else np.less
        return np.array([np.count_nonzero(op(self.values, p)) for p in pts]) / self.n_valid

    def quantiles(self, ranks: Sequence[float]) -> np.ndarray:
        if self.n_valid == 0:
            return np.full(len(ranks), np.nan)
        return np.quantile(self.values, np.asarray(ranks, dtype=np.float64))

    def support(self) -> np.ndarray:
        return np.unique(self.values)

    def distinct(self, need: float = float("inf")) -> int:
        if self.kind == CATEGORICAL:
            return len(self._counts)
        found = count_distinct_at_least(self._finite, need, self._central)
        if self.n_inf:  # +inf and -inf are values too
            found += int(np.isposinf(self.values).any()) + int(np.isneginf(self.values).any())
        return found

    def categories(self) -> dict[str, int]:
        return self._counts


def ks_distance(ref: ColumnSummary, cur: ColumnSummary) -> tuple[float, float]:
    """(D, bound): the largest gap of the two CDFs and how far it may be from the exact one.

    Both CDFs are step functions that move only at their support, so evaluating them at the
    union of both supports gives the supremum of their gap; each CDF is within its
    ``cdf_error`` of the exact one, so D is within the sum of both.
    """
    if ref.n_valid == 0 or cur.n_valid == 0:
        return 0.0, 0.0
    points = np.union1d(ref.support(), cur.support())
    return ks_distance_with_bound(ref.cdf(points, inclusive=True), cur.cdf(points, inclusive=True),
                                  ref.cdf_error, cur.cdf_error)


def quantile_edges(summary: ColumnSummary, n_bins: int = 10) -> np.ndarray:
    """PSI bin edges from a summary's quantiles: -inf, the unique finite inner quantiles at
    ``k / n_bins``, +inf."""
    if summary.n_valid == 0:
        return np.array([-np.inf, np.inf])
    inner = summary.quantiles([i / n_bins for i in range(1, n_bins)])
    inner = np.unique(inner[np.isfinite(inner)])
    return np.concatenate(([-np.inf], inner, [np.inf]))


def bin_proportions(summary: ColumnSummary, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Proportions in ``[a, b)`` bins (the last closed) and each proportion's error bound
    (an inner bin has two estimated edges, an outer one one, a single bin none)."""
    inner = np.asarray(edges, dtype=np.float64)[1:-1]
    below = summary.cdf(inner, inclusive=False) if inner.size else np.zeros(0)
    props = np.clip(np.diff(np.concatenate(([0.0], below, [1.0]))), 0.0, 1.0)
    e = float(summary.cdf_error)
    err = np.full(props.shape, 2.0 * e)
    if err.size:
        err[0] = err[-1] = e
    if err.size == 1:
        err[0] = 0.0
    return props, err
