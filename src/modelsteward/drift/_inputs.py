"""Shared input handling of the detectors: reference -> Baseline, current -> columns."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

from modelsteward._types import DataLike
from modelsteward.baseline import Baseline
from modelsteward.baseline.columns import numeric_values, window_columns
from modelsteward.errors import DataError

__all__ = [
    "as_baseline",
    "current_columns",
    "map_columns",
    "sorted_valid",
]

T = TypeVar("T")
#: below this many current values in total, columns are checked one after another
PARALLEL_MIN_VALUES = 400_000


def map_columns(fn: Callable[[str], T], names: list[str], total: int) -> list[T]:
    """``[fn(name) for name in names]``, in threads when the window is large (numpy's sort,
    search and element-wise kernels release the GIL), in the same order."""
    workers = min(os.cpu_count() or 1, 4, len(names))
    if workers < 2 or total < PARALLEL_MIN_VALUES:
        return [fn(n) for n in names]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, names))


def as_baseline(reference: Baseline | DataLike) -> Baseline:
    """A Baseline as given, or one fitted from raw reference data."""
    if isinstance(reference, Baseline):
        return reference
    return Baseline.fit(reference)


def current_columns(current: DataLike) -> dict[str, np.ndarray]:
    """The current window as columns; an empty window (no rows at all) is an error."""
    if isinstance(current, Baseline):
        raise DataError(
            "current must be data (dict of arrays, pandas, polars, pyarrow), not a Baseline"
        )
    return window_columns(current)


def sorted_valid(name: str, values: np.ndarray) -> np.ndarray:
    """The column as a sorted float64 array without NaN (a fresh array)."""
    x = np.sort(numeric_values(name, values))
    if x.size and x[-1] != x[-1]:
        x = x[: int(np.searchsorted(x, np.nan, side="left"))]
    return x
