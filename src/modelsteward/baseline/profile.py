"""One column's fitted reference: :class:`ColumnProfile`, and how to build it.

>>> import numpy as np
>>> p = profile_column("age", np.array([30.0, 40.0, np.nan, 50.0]))
>>> p.kind, p.n_rows, p.n_null, p.mean, p.n_distinct
('numeric', 4, 1, 40.0, 3)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelsteward._params import validate_params
from modelsteward.baseline.columns import (
    CATEGORICAL,
    KINDS,
    NUMERIC,
    category_counts,
    numeric_values,
)
from modelsteward.errors import BaselineError
from modelsteward.stats.psi import N_BINS, psi_bin_counts, psi_edges

__all__ = ["ColumnProfile", "moments", "numeric_summary", "profile_column"]

EXACT = "exact"
SKETCH = "sketch"


@dataclass(frozen=True, eq=False)
class ColumnProfile:
    """The reference summary of one column, fitted once.

    Numeric columns (``kind="numeric"``) keep, in exact mode, every non-null value sorted
    (``sorted_values``, used by the exact KS test), the PSI ``psi_edges`` and the reference
    counts per bin. Categorical columns keep ``category_counts``. ``mean``/``variance``
    (population variance, ``ddof=0``, as ``np.nanvar``) and ``minimum``/``maximum`` are over
    the finite values (0.0 when there are none); ``n_inf`` counts +/-inf values, which take
    part in KS and PSI but not in moments.
    """

    name: str
    kind: str
    n_rows: int
    n_null: int
    mean: float = 0.0
    variance: float = 0.0
    minimum: float = 0.0
    maximum: float = 0.0
    n_distinct: int = 0
    sorted_values: np.ndarray | None = None
    psi_edges: np.ndarray | None = None
    psi_reference_counts: np.ndarray | None = None
    category_counts: dict[str, int] | None = None
    mode: str = EXACT
    n_inf: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BaselineError(
                f"column {self.name!r}: kind must be 'numeric' or 'categorical', got {self.kind!r}"
            )

    @property
    def n_valid(self) -> int:
        """Non-null values (the KS / chi-square sample size)."""
        return self.n_rows - self.n_null

    @property
    def null_rate(self) -> float:
        """Share of nulls; 0.0 for an empty column."""
        return self.n_null / self.n_rows if self.n_rows else 0.0

    def value_counts(self) -> np.ndarray | None:
        """Counts of each distinct non-null value (exact mode), else None."""
        if self.kind == CATEGORICAL:
            if self.category_counts is None:
                return None
            return np.fromiter(self.category_counts.values(), dtype=np.int64)
        if self.sorted_values is None:
            return None
        v = self.sorted_values
        if v.size == 0:
            return np.zeros(0, dtype=np.int64)
        starts = np.flatnonzero(np.concatenate(([True], v[1:] != v[:-1])))
        return np.diff(np.append(starts, v.size)).astype(np.int64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (arrays left out; ``sorted_values`` only by length)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "mode": self.mode,
            "n_rows": self.n_rows,
            "n_null": self.n_null,
            "n_inf": self.n_inf,
            "mean": self.mean,
            "variance": self.variance,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "n_distinct": self.n_distinct,
            "psi_edges": None if self.psi_edges is None else self.psi_edges.tolist(),
            "psi_reference_counts": None
            if self.psi_reference_counts is None
            else self.psi_reference_counts.tolist(),
            "category_counts": self.category_counts,
        }


_BIG = float(np.finfo(np.float64).max)


def moments(v: np.ndarray) -> tuple[float, float]:
    """(mean, population variance) of a finite float array, without overflow to inf/NaN.

    When the plain sums overflow (values near 1.8e308) they are taken on scaled values; a
    variance beyond the float64 range is reported as the largest float.
    """
    if v.size == 0:
        return 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        mean = float(v.mean())
        variance = float(v.var()) if v.size > 1 else 0.0
        if not (np.isfinite(mean) and np.isfinite(variance)):
            scale = max(abs(float(v.min())), abs(float(v.max())))  # values near 1.8e308
            w = v / scale
            mean = float(w.mean()) * scale
            variance = float(w.var()) * scale * scale if v.size > 1 else 0.0
    if not np.isfinite(mean):
        mean = float(np.clip(np.nan_to_num(mean), -_BIG, _BIG))
    if not np.isfinite(variance):
        variance = _BIG
    return mean, variance


def numeric_summary(values: np.ndarray) -> dict[str, float | int]:
    """Moments and range over the finite values of a NaN-free float array."""
    finite = np.isfinite(values)
    n_inf = int(values.size - np.count_nonzero(finite))
    v = values if n_inf == 0 else values[finite]
    if v.size == 0:
        return {"mean": 0.0, "variance": 0.0, "minimum": 0.0, "maximum": 0.0, "n_inf": n_inf}
    mean, variance = moments(v)
    return {
        "mean": mean,
        "variance": variance,
        "minimum": float(v.min()),
        "maximum": float(v.max()),
        "n_inf": n_inf,
    }


def _distinct_sorted(v: np.ndarray) -> int:
    if v.size == 0:
        return 0
    return int(np.count_nonzero(v[1:] != v[:-1])) + 1


@validate_params({"n_bins": N_BINS})
def profile_column(
    name: str, values: np.ndarray, kind: str | None = None, n_bins: int = 10
) -> ColumnProfile:
    """Fit the exact profile of one column (kind inferred when not given)."""
    from modelsteward.baseline.columns import infer_kind

    if kind is None:
        kind = infer_kind(values)
    if kind not in KINDS:
        raise BaselineError(
            f"column {name!r}: kind must be 'numeric' or 'categorical', got {kind!r}"
        )
    n_rows = int(values.shape[0])
    if kind == CATEGORICAL:
        counts, n_null = category_counts(values)
        return ColumnProfile(
            name=name,
            kind=CATEGORICAL,
            n_rows=n_rows,
            n_null=n_null,
            n_distinct=len(counts),
            category_counts=counts,
        )
    x = np.sort(numeric_values(name, values))
    n_valid = int(np.searchsorted(x, np.nan, side="left")) if x.size and np.isnan(x[-1]) else x.size
    if n_valid < x.size:
        x = x[:n_valid].copy()  # keep no hidden NaN tail alive
    summary = numeric_summary(x)
    edges = psi_edges(x, n_bins) if x.size else None
    return ColumnProfile(
        name=name,
        kind=NUMERIC,
        n_rows=n_rows,
        n_null=n_rows - n_valid,
        mean=float(summary["mean"]),
        variance=float(summary["variance"]),
        minimum=float(summary["minimum"]),
        maximum=float(summary["maximum"]),
        n_distinct=_distinct_sorted(x),
        sorted_values=x,
        psi_edges=edges,
        psi_reference_counts=None if edges is None else psi_bin_counts(x, edges),
        n_inf=int(summary["n_inf"]),
    )
