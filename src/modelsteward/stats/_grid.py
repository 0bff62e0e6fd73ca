"""KS and PSI counts of an unsorted current sample without sorting all of it.

The sorted reference is cut into ``M`` equal-width cells over its central range (quantiles
1e-4 to 1 - 1e-4; values beyond fall in two end cells), either in the value itself or, for
heavy-tailed references where that leaves a few cells holding most values, in
``cbrt(v - median)`` (chosen per column, whichever fills its fullest cell less). Any monotone
cell mapping gives exact results, as long as reference and current use the same one.

One pass maps every current value to its cell and counts them. From the cell counts, both
one-sided KS extremes get, per cell, an upper bound and, across cells, an attained lower
bound (see :func:`extremes_and_counts`); a cell whose reference values and current values
are all one tied value is exact without looking further. Only cells whose bound beats the
best attained value, plus the cells holding a PSI edge, are gathered, sorted and evaluated
exactly, so the result is identical to the full-sort path (tested). When more than 70% of the
sample sits in open cells, the caller sorts everything instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelsteward.stats.ks import dense_extremes

__all__ = ["ReferenceGrid", "build_grid", "extremes_and_counts"]

CELLS = 1 << 16
_TAIL = 1e-4
_MAX_OPEN_SHARE = 0.7


@dataclass(frozen=True)
class ReferenceGrid:
    """Cell mapping of one sorted reference and its cumulative counts per cell."""

    lo: float
    scale: float
    cells: int
    ref_before: np.ndarray  # ref_before[k] = number of reference values in cells < k
    tie_value: np.ndarray | None = None  # per cell: its only reference value (ties), else NaN
    transform: str = "linear"  # or "cbrt": cells equal-width in cbrt(v - center)
    center: float = 0.0

    def map(self, values: np.ndarray) -> np.ndarray:
        """Cell index per value (0 .. cells + 1); NaN -> cells + 2. Monotone in the value."""
        with np.errstate(invalid="ignore", over="ignore"):
            if self.transform == "cbrt":
                t = np.subtract(values, self.center, dtype=np.float64)
                np.cbrt(t, out=t)
                t -= self.lo
            else:
                t = np.subtract(values, self.lo, dtype=np.float64)
            t *= self.scale
            np.clip(t, -1.0, float(self.cells), out=t)
            t += 1.0
        if np.isnan(t.sum()):
            t[np.isnan(t)] = self.cells + 2
        return t.astype(np.int32)


def default_cells(n_ref: int) -> int:
    """Cells for a reference of ``n_ref`` values: a power of two near ``64 sqrt(n_ref)``
    (1,024 .. 65,536). A cell's bound is loose by about its share of both samples, so this
    keeps that slack near 2% of the KS statistic's typical size under no drift."""
    target = 64.0 * float(np.sqrt(max(n_ref, 1)))
    return int(min(CELLS, max(1024, 1 << int(np.ceil(np.log2(target))))))


def build_grid(ref_sorted: np.ndarray, cells: int | None = None) -> ReferenceGrid | None:
    """The grid of a sorted NaN-free reference, or None when its central range is empty."""
    n = ref_sorted.shape[0]
    if n < 2:
        return None
    if cells is None:
        cells = default_cells(n)
    start = int(np.searchsorted(ref_sorted, -np.inf, side="right"))
    stop = int(np.searchsorted(ref_sorted, np.inf, side="left"))
    finite = ref_sorted[start:stop]
    if finite.size < 2:
        return None
    q_lo = float(finite[int(_TAIL * (finite.size - 1))])
    q_hi = float(finite[int(np.ceil((1 - _TAIL) * (finite.size - 1)))])
    center = float(finite[finite.size // 2])
    candidates = [("linear", 0.0, q_lo, q_hi)]
    if q_hi > q_lo:
        candidates.append(
            ("cbrt", center, float(np.cbrt(q_lo - center)), float(np.cbrt(q_hi - center)))
        )
    # pick the mapping that fills its fullest cell least, judged on an even subsample
    sample = finite[:: max(1, finite.size // 16_384)]
    best: ReferenceGrid | None = None
    best_load = 0
    for transform, c, lo, hi in candidates:
        width = hi - lo
        if not (width > 0 and np.isfinite(width)):
            continue
        scale = cells / width
        if not np.isfinite(scale) or scale <= 0:
            continue
        grid = ReferenceGrid(
            lo=lo,
            scale=scale,
            cells=cells,
            ref_before=np.zeros(0, np.int64),
            transform=transform,
            center=c,
        )
        ids = grid.map(sample)
        coarse = ids[(ids > 0) & (ids <= cells)] // 64
        load = int(np.bincount(coarse).max()) if coarse.size else sample.size
        if best is None or load < best_load:
            best, best_load = grid, load
    if best is None:
        return None
    grid = best
    ref_before = _cell_starts(grid, ref_sorted)
    # cells holding 2+ reference values that are all equal (heavy ties): remember the value
    first, last = ref_before[: cells + 2], ref_before[1 : cells + 3] - 1
    many = last > first
    tie_value = np.full(cells + 2, np.nan)
    pure = np.zeros(cells + 2, dtype=bool)
    pure[many] = ref_sorted[first[many]] == ref_sorted[last[many]]
    tie_value[pure] = ref_sorted[first[pure]]
    return ReferenceGrid(
        lo=grid.lo,
        scale=grid.scale,
        cells=cells,
        ref_before=ref_before,
        tie_value=tie_value if pure.any() else None,
        transform=grid.transform,
        center=grid.center,
    )


def _cell_starts(grid: ReferenceGrid, ref_sorted: np.ndarray) -> np.ndarray:
    """``starts[k]`` = number of reference values mapped to cells below ``k``, k = 0..M+2.

    The mapping is monotone, so ``starts[k]`` is where the sorted reference reaches cell k:
    found by searching the cells' lower boundaries, then corrected one distinct value at a
    time where rounding put a value on the other side of a boundary (rarely more than one
    step; after a few rounds the whole reference is mapped instead).
    """
    n = ref_sorted.shape[0]
    m = grid.cells
    k = np.arange(1, m + 2, dtype=np.int64)  # cells 1 .. M+1 (0 starts at 0, M+2 at n)
    bounds = grid.lo + (k - 1).astype(np.float64) / grid.scale
    if grid.transform == "cbrt":
        bounds = grid.center + bounds**3
    pos = np.searchsorted(ref_sorted, bounds, side="left").astype(np.int64)
    for _ in range(8):
        moved = False
        # a value just before pos that already maps to cell >= k: move left past its copies
        has_prev = pos > 0
        prev_val = ref_sorted[np.maximum(pos - 1, 0)]
        back = has_prev & (grid.map(prev_val) >= k)
        if back.any():
            pos[back] = np.searchsorted(ref_sorted, prev_val[back], side="left")
            moved = True
        # the value at pos maps below cell k: move right past its copies
        has_here = pos < n
        here_val = ref_sorted[np.minimum(pos, n - 1)]
        ahead = has_here & (grid.map(here_val) < k)
        if ahead.any():
            pos[ahead] = np.searchsorted(ref_sorted, here_val[ahead], side="right")
            moved = True
        if not moved:
            return np.concatenate(([0], pos, [n])).astype(np.int64)
    ids = grid.map(ref_sorted)
    return np.searchsorted(ids, np.arange(m + 3), side="left").astype(np.int64)


def extremes_and_counts(
    grid: ReferenceGrid,
    ref: np.ndarray,
    cur: np.ndarray,
    inner_edges: np.ndarray,
    *,
    offset: int = 0,
    total: int | None = None,
) -> tuple[int, int, int, np.ndarray] | None:
    """(plus, minus, n_valid, #cur < each inner edge) for an unsorted current sample.

    ``plus``/``minus`` are the one-sided KS extremes scaled by ``n_ref * n_valid`` exactly as
    :func:`modelsteward.stats.ks._extremes` computes them on the sorted sample. Returns
    None when too many cells stay open (the caller then sorts), or when no value is valid.

    ``offset`` and ``total`` describe ``cur`` as the middle part of a larger sample: ``offset``
    values below the reference minimum come before it and ``total`` counts the whole sample
    (used by :func:`_split_out_of_range`); ``n_valid`` and the edge counts stay local.
    """
    m = grid.cells
    n1 = int(ref.shape[0])
    ids = grid.map(cur)
    counts = np.bincount(ids, minlength=m + 3).astype(np.int64)
    n_loc = int(counts[: m + 2].sum())
    if n_loc == 0:
        return None
    tot = n_loc if total is None else int(total)
    c_before = np.zeros(m + 3, dtype=np.int64)
    np.cumsum(counts[: m + 2], out=c_before[1:])  # current values in cells < k
    r_before = grid.ref_before
    ck, ck1 = c_before[:-1], c_before[1:]
    pk, pk1 = ck + offset, ck1 + offset  # positions in the whole sample
    rk, rk1 = r_before[: m + 2], r_before[1 : m + 3]
    nonempty = counts[: m + 2] > 0
    # attained lower bounds (first value of cell k and after; last value of cells <= k)
    plus_lb = int(np.max(np.where(ck < n_loc, rk * tot - pk * n1, 0)))
    minus_lb = int(np.max(np.where(ck1 >= 1, pk1 * n1 - rk1 * tot, 0)))
    plus_lb, minus_lb = max(plus_lb, 0), max(minus_lb, 0)
    bound_plus = rk1 * tot - pk * n1
    bound_minus = pk1 * n1 - rk * tot
    edges = np.asarray(inner_edges, dtype=np.float64)
    edge_cells = grid.map(edges) if edges.size else np.zeros(0, np.int32)
    tied_cells = np.zeros(m + 2, dtype=bool)
    if grid.tie_value is not None:
        # A cell whose reference values are all equal to v, and whose current values are
        # too, is a single step of both ECDFs: its extremes are the attained values at its
        # first and last current value, no search needed.
        tv = grid.tie_value
        loose = nonempty & ~np.isnan(tv) & ((bound_plus > plus_lb) | (bound_minus > minus_lb))
        if loose.any():
            equal = cur == tv[np.minimum(ids, m + 1)]
            n_equal = np.bincount(ids[equal], minlength=m + 3)[: m + 2]
            tied_cells = loose & (n_equal == counts[: m + 2])
            bound_plus = np.where(tied_cells, rk * tot - pk * n1, bound_plus)
            bound_minus = np.where(tied_cells, pk1 * n1 - rk1 * tot, bound_minus)
    open_cells = nonempty & ((bound_plus > plus_lb) | (bound_minus > minus_lb))
    for cell in edge_cells.tolist():
        if cell < m + 2 and not tied_cells[cell]:
            open_cells[cell] = True
    open_cells &= nonempty
    open_mass = int(counts[: m + 2][open_cells].sum())
    if open_mass > _MAX_OPEN_SHARE * n_loc:
        if total is None:  # values far outside the reference often fill the end cells
            return _split_out_of_range(grid, ref, cur, edges)
        return None
    flag = np.zeros(m + 3, dtype=bool)
    flag[: m + 2] = open_cells
    vals = np.sort(cur[flag[ids]])
    sub_ids = grid.map(vals) if vals.size else np.zeros(0, np.int32)
    first = np.searchsorted(sub_ids, sub_ids, side="left")
    pos = c_before[sub_ids] + (np.arange(vals.size) - first) + offset
    plus, minus = plus_lb, minus_lb
    if vals.size:
        p2, m2 = dense_extremes(ref, vals, pos, n1, tot)
        plus, minus = max(plus, p2), max(minus, m2)
    below = np.empty(edges.size, dtype=np.int64)
    for i, (e, cell) in enumerate(zip(edges.tolist(), edge_cells.tolist(), strict=True)):
        if cell >= m + 2:  # a NaN edge cannot happen; keep the count defined anyway
            below[i] = n_loc
            continue
        if tied_cells[cell] and grid.tie_value is not None:  # all values equal the tie value
            below[i] = c_before[cell] if e <= grid.tie_value[cell] else c_before[cell + 1]
            continue
        start = int(np.searchsorted(sub_ids, cell, side="left"))
        below[i] = c_before[cell] + int(np.searchsorted(vals, e, side="left")) - start
    return plus, minus, n_loc, below


def _split_out_of_range(
    grid: ReferenceGrid, ref: np.ndarray, cur: np.ndarray, edges: np.ndarray
) -> tuple[int, int, int, np.ndarray] | None:
    """Second chance when most values sit in open cells: set apart the values below the
    reference minimum and above its maximum (there ``F_ref`` is 0 and 1, so their extremes
    are known in closed form) and run the cell grid on the rest."""
    n1 = int(ref.shape[0])
    low = cur < ref[0]
    high = cur > ref[-1]
    a = int(np.count_nonzero(low))
    b = int(np.count_nonzero(high))
    if a + b == 0:
        return None
    mid = cur[~(low | high)]
    n_mid = int(mid.shape[0] - np.count_nonzero(np.isnan(mid)))
    total = a + n_mid + b
    # below the minimum: F_cur - F_ref peaks at the last of them, (a/total) - 0;
    # above the maximum: F_ref - F_cur peaks just below the first of them, 1 - (a+n_mid)/total
    plus = b * n1
    minus = a * n1
    below = np.full(edges.shape[0], a, dtype=np.int64)  # inner edges lie in [min, max]
    if n_mid:
        inner = extremes_and_counts(grid, ref, mid, edges, offset=a, total=total)
        if inner is None:
            return None
        plus, minus = max(plus, inner[0]), max(minus, inner[1])
        below += inner[3]
    return plus, minus, total, below
