"""One column's fitted reference: :class:`ColumnProfile`, and how to build it.

>>> import numpy as np
>>> p = profile_column("age", np.array([30.0, 40.0, np.nan, 50.0]))
>>> p.kind, p.n_rows, p.n_null, p.mean, p.n_distinct
('numeric', 4, 1, 40.0, 3)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelsteward._params import validate_params
from modelsteward.baseline.columns import (
    CATEGORICAL,
    KINDS,
    NUMERIC,
    category_counts,
    infer_kind,
    numeric_values,
)
from modelsteward.baseline.sketch import (
    DEFAULT_K,
    CategoricalSketch,
    ColumnSketch,
    NumericSketch,
    SketchProfile,
)
from modelsteward.errors import BaselineError, BaselineFormatError
from modelsteward.stats._grid import ReferenceGrid, build_grid
from modelsteward.stats.moments import moments
from modelsteward.stats.psi import N_BINS, psi_bin_counts, psi_edges

__all__ = ["ColumnProfile", "numeric_summary", "profile_column"]

EXACT = "exact"
SKETCH = "sketch"
#: key of a sketch-mode profile's sketch bytes in ``extra``
SKETCH_KEY = "sketch"
#: prefix of the fitted-state fields saved beside a profile (see ColumnProfile.fitted_state)
FITTED = "fitted_"
#: references smaller than this get no cell grid (the exact KS sorts small windows anyway)
GRID_MIN_REFERENCE = 3_000
_IN_MEMORY_BATCH = 1_000_000


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
    #: derived reference state (cell grid, multiplicities, decoded sketch): fitted on first
    #: use or restored from a saved baseline, never part of equality or repr
    _fitted: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

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

    # --- the ColumnSummary protocol (baseline.summary) -------------------------------------
    @property
    def cdf_error(self) -> float:
        """0 in exact mode; the sketch's normalized rank error in sketch mode."""
        if self.mode == SKETCH and self.kind == NUMERIC:
            sk = self.sketch()
            assert isinstance(sk, NumericSketch)
            return sk.cdf_error
        return 0.0

    @property
    def distinct_error(self) -> float:
        return self.sketch().distinct_error if self.mode == SKETCH else 0.0

    @property
    def categories_error(self) -> int:
        return self.sketch().categories_error if self.mode == SKETCH else 0

    def cdf(self, points: np.ndarray, inclusive: bool = True) -> np.ndarray:
        """Share of non-null reference values ``<= x`` (``< x``) at ``points``."""
        if self.sorted_values is None:
            return self.sketch().cdf(points, inclusive)
        pts = np.asarray(points, dtype=np.float64)
        if self.sorted_values.size == 0:
            return np.zeros(pts.size)
        found = np.searchsorted(self.sorted_values, pts, side="right" if inclusive else "left")
        return np.asarray(found / self.sorted_values.size, dtype=np.float64)

    def quantiles(self, ranks: Sequence[float]) -> np.ndarray:
        if self.sorted_values is None:
            return self.sketch().quantiles(ranks)
        if self.sorted_values.size == 0:
            return np.full(len(ranks), np.nan)
        return np.quantile(self.sorted_values, np.asarray(ranks, dtype=np.float64))

    def support(self) -> np.ndarray:
        if self.sorted_values is None:
            return self.sketch().support()
        v = self.sorted_values
        return v[np.concatenate(([True], v[1:] != v[:-1]))] if v.size else v

    def distinct(self, need: float = float("inf")) -> int:
        return self.n_distinct

    def categories(self) -> dict[str, int]:
        return self.category_counts or {}

    # --- fitted state -----------------------------------------------------------------------
    def sketch(self, k: int = DEFAULT_K) -> ColumnSketch:
        """The column sketch: decoded in sketch mode, built from the values in exact mode
        (an exact profile with no more than ``k`` values gives an exact, error-free sketch).
        Kept as fitted state; callers must not mutate it."""
        key = "sketch" if self.mode == SKETCH else f"sketch_{k}"
        found = self._fitted.get(key)
        if found is None:
            found = self._fitted[key] = self._build_sketch(k)
        assert isinstance(found, (NumericSketch, CategoricalSketch))
        return found

    def _build_sketch(self, k: int) -> ColumnSketch:
        if self.mode == SKETCH:
            blob = self.extra.get(SKETCH_KEY)
            if not isinstance(blob, (bytes, bytearray)):
                raise BaselineFormatError(
                    f"column {self.name!r} is in sketch mode but carries no sketch; refit it"
                )
            return SketchProfile.from_bytes(bytes(blob)).columns[self.name]
        if self.kind == CATEGORICAL:
            cat = CategoricalSketch(name=self.name)
            counts = self.category_counts or {}
            cat.update_counts(counts.keys(), counts.values(), n_rows=self.n_rows,
                              n_null=self.n_null)
            return cat
        values = self.sorted_values
        if values is None:
            raise BaselineError(f"column {self.name!r} has neither values nor a sketch; refit it")
        num = NumericSketch(name=self.name, k=k)
        for lo in range(0, max(values.size, 1), _IN_MEMORY_BATCH):
            num.update(values[lo : lo + _IN_MEMORY_BATCH])
        num.n_rows += self.n_null
        num.n_null += self.n_null
        return num

    def grid(self) -> ReferenceGrid | None:
        """The cell grid of the sorted reference (:mod:`modelsteward.stats._grid`), or None
        (sketch mode, a small or degenerate reference)."""
        if "grid" not in self._fitted:
            v = self.sorted_values
            ok = v is not None and v.size >= GRID_MIN_REFERENCE
            self._fitted["grid"] = build_grid(v) if ok and v is not None else None
        found = self._fitted["grid"]
        return found if isinstance(found, ReferenceGrid) else None

    def multiplicities(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(distinct value counts c, how many values occur c times), or None without counts."""
        if "multiplicities" not in self._fitted:
            found: tuple[np.ndarray, np.ndarray] | None
            if self.kind != CATEGORICAL and self.n_distinct == self.n_valid:
                found = (np.array([1]), np.array([self.n_distinct]))  # all values distinct
            else:
                counts = self.value_counts()
                found = None if counts is None else np.unique(counts[counts > 0],
                                                              return_counts=True)
            self._fitted["multiplicities"] = found
        got = self._fitted["multiplicities"]
        return None if got is None else (got[0], got[1])

    def central_range(self) -> tuple[float, float] | None:
        """The reference's 0.1%-99.9% range (exact mode, more than 1,000 values), else None."""
        v = self.sorted_values
        if v is None or v.size <= 1000:
            return None
        k = v.size // 1000
        return float(v[k]), float(v[-1 - k])

    def fitted_state(self) -> dict[str, Any]:
        """The derived state to save with the baseline (built now if not yet fitted), as
        ``extra`` fields: arrays and JSON (see :meth:`restore_fitted`)."""
        out: dict[str, Any] = {}
        grid = self.grid()
        if grid is not None:
            out[FITTED + "grid"] = {"lo": grid.lo, "scale": grid.scale, "cells": grid.cells,
                                    "transform": grid.transform, "center": grid.center}
            width = np.int32 if grid.ref_before[-1] < 2**31 else np.int64  # int32: half the file
            out[FITTED + "grid_ref_before"] = grid.ref_before.astype(width)
            if grid.tie_value is not None:  # sparse: the cells holding one tied value
                cells = np.flatnonzero(~np.isnan(grid.tie_value))
                out[FITTED + "grid_tie_cells"] = cells.astype(np.int32)
                out[FITTED + "grid_tie_values"] = grid.tie_value[cells]
        mult = self.multiplicities() if self.mode == EXACT else None  # sketch counts: a head
        if mult is not None:
            out[FITTED + "mult_counts"] = np.asarray(mult[0], dtype=np.int64)
            out[FITTED + "mult_times"] = np.asarray(mult[1], dtype=np.int64)
        return out

    def restore_fitted(self, saved: Mapping[str, Any], where: str = "profile") -> None:
        """Take the fitted state :meth:`fitted_state` saved, after checking it against the
        profile (lengths, order, totals); anything inconsistent is a BaselineFormatError."""
        def bad(why: str) -> BaselineFormatError:
            return BaselineFormatError(f"{where}: saved fitted state {why}; refit and save the "
                                       "baseline again")

        spec = saved.get(FITTED + "grid")
        before = saved.get(FITTED + "grid_ref_before")
        if spec is not None and before is not None and self.sorted_values is not None:
            try:
                cells = int(spec["cells"])
                tie = None
                tie_cells = saved.get(FITTED + "grid_tie_cells")
                if tie_cells is not None:
                    at = np.asarray(tie_cells, np.int64)
                    if at.size and (at.min() < 0 or at.max() >= cells + 2):
                        raise ValueError("tie cell out of range")
                    tie = np.full(cells + 2, np.nan)
                    tie[at] = saved[FITTED + "grid_tie_values"]
                grid = ReferenceGrid(lo=float(spec["lo"]), scale=float(spec["scale"]),
                                     cells=cells, ref_before=np.asarray(before, np.int64),
                                     tie_value=tie,
                                     transform=str(spec["transform"]),
                                     center=float(spec["center"]))
            except (KeyError, TypeError, ValueError, IndexError):
                raise bad("has a malformed grid") from None
            rb = grid.ref_before
            if (grid.transform not in ("linear", "cbrt") or cells < 1
                    or not (np.isfinite(grid.scale) and grid.scale > 0)
                    or rb.shape != (cells + 3,) or rb[0] != 0
                    or rb[-1] != self.sorted_values.size or bool(np.any(np.diff(rb) < 0))
                    or (grid.tie_value is not None and grid.tie_value.shape != (cells + 2,))):
                raise bad("has a grid that does not fit the reference values")
            self._fitted["grid"] = grid
        counts, times = saved.get(FITTED + "mult_counts"), saved.get(FITTED + "mult_times")
        if counts is not None and times is not None and self.mode == EXACT:
            c, t = np.asarray(counts, np.int64), np.asarray(times, np.int64)
            if (c.shape != t.shape or c.ndim != 1 or (c < 1).any() or (t < 1).any()
                    or int(np.sum(c * t)) != self.n_valid or int(t.sum()) != self.n_distinct):
                raise bad("has value multiplicities that do not add up to the profile's counts")
            self._fitted["multiplicities"] = (c, t)

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
