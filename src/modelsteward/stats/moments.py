"""Moments and distinct counts of float arrays, defined for every input (no inf/NaN leaks).

>>> import numpy as np
>>> moments(np.array([1.0, 2.0, 3.0]))
(2.0, 0.6666666666666666)
>>> count_distinct_at_least(np.array([1.0, 1.0, 2.0]), need=5)
2
"""

from __future__ import annotations

import numpy as np

__all__ = ["count_distinct_at_least", "moments"]

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
