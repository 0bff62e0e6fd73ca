"""The KS kernel agrees with scipy.stats.ks_2samp(method='auto') on generated samples."""

import math

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import special

from modelsteward.stats import ks_2samp_sorted
from modelsteward.stats._grid import build_grid, extremes_and_counts
from modelsteward.stats._kolmogorov import kstwo_sf, smirnov_sf
from modelsteward.stats.ks import _extremes


def _agree(a: np.ndarray, b: np.ndarray) -> None:
    stat, p = ks_2samp_sorted(np.sort(a), b)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    ref = ss.ks_2samp(a, b)
    assert abs(stat - ref.statistic) <= 1e-12, (stat, ref.statistic)
    both_tiny = p < 1e-300 and ref.pvalue < 1e-300
    assert both_tiny or abs(p - ref.pvalue) <= 1e-9 * ref.pvalue, (p, ref.pvalue)
    assert 0.0 <= p <= 1.0 and 0.0 <= stat <= 1.0


values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.integers(-3, 3).map(float),  # ties
    st.just(float("nan")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(values, min_size=1, max_size=60), st.lists(values, min_size=1, max_size=60))
def test_tiny_samples_with_ties_and_nan(a: list[float], b: list[float]) -> None:
    x, y = np.array(a), np.array(b)
    if np.isnan(x).all() or np.isnan(y).all():
        return
    _agree(x, y)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 40_000),
    st.integers(1, 40_000),
    st.integers(0, 3),
    st.floats(0, 0.3),
    st.integers(0, 2**32 - 1),
)
def test_generated_samples_exact_and_asymptotic(
    n1: int, n2: int, family: int, shift: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)

    def draw(n: int, s: float) -> np.ndarray:
        if family == 0:
            return rng.normal(s, 1, n)
        if family == 1:
            return rng.poisson(4 + 4 * s, n).astype(float)  # heavy ties
        if family == 2:
            return np.round(rng.lognormal(s, 1, n), 1)
        x = rng.normal(s, 1, n)
        x[rng.random(n) < 0.1] = np.nan
        return x

    a, b = draw(n1, 0.0), draw(n2, shift)
    if np.isnan(a).all() or np.isnan(b).all():
        return
    _agree(a, b)


@pytest.mark.parametrize("n1,n2", [(10_000, 10_000), (10_001, 10_000), (1, 10_000), (250_000, 7)])
def test_exact_asymptotic_switch(n1: int, n2: int) -> None:
    rng = np.random.default_rng(n1 + n2)
    _agree(rng.normal(size=n1), rng.normal(0.05, 1, n2))


def test_large_unequal_samples() -> None:
    rng = np.random.default_rng(7)
    _agree(rng.normal(size=400_000), rng.normal(0.004, 1, 300_000))
    _agree(rng.poisson(3, 300_000).astype(float), rng.poisson(3.02, 200_000).astype(float))


def test_identical_and_disjoint_samples() -> None:
    x = np.arange(50.0)
    assert ks_2samp_sorted(x, x) == (0.0, 1.0)
    stat, p = ks_2samp_sorted(x, x + 100)
    assert stat == 1.0 and p < 1e-20


@pytest.mark.parametrize("n", [3_000, 20_000, 120_000])
def test_fast_smirnov_matches_scipy(n: int) -> None:
    for nx2 in (2.2, 5.0, 40.0, 300.0):
        x = math.sqrt(nx2 / n)
        assert smirnov_sf(n, x) == pytest.approx(special.smirnov(n, x), rel=1e-10)
        assert kstwo_sf(x, n) == pytest.approx(ss.kstwo.sf(x, n), rel=1e-10)
    for d in (0.0, 0.5 / n, 1.0 / n, 0.9, 1.0):
        assert kstwo_sf(d, n) == pytest.approx(float(ss.kstwo.sf(d, n)), rel=1e-12, abs=1e-300)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 6), st.sampled_from([64, 1024, 65536]))
def test_cell_grid_gives_the_same_extremes_as_sorting(seed: int, family: int, cells: int) -> None:
    rng = np.random.default_rng(seed)
    n1, n2 = int(rng.integers(2, 30_000)), int(rng.integers(1, 30_000))
    shift = float(rng.choice([0.0, 0.0, 0.05, 1.0]))

    def draw(n: int, s: float) -> np.ndarray:
        if family == 0:
            return rng.normal(s, 1, n)
        if family == 1:
            return rng.poisson(5 + s, n).astype(float)
        if family == 2:
            return np.where(rng.random(n) < 0.7, 0.0, rng.exponential(1 + s, n))
        if family == 3:
            x = rng.standard_cauchy(n) + s
            x[rng.random(n) < 0.01] = np.inf
            x[rng.random(n) < 0.01] = -np.inf
            return x
        if family == 4:
            x = rng.normal(s, 1, n)
            x[rng.random(n) < 0.2] = np.nan
            return x
        if family == 5:
            return np.round(rng.normal(s, 1, n), 1)
        x = rng.normal(0, 1 + 60 * s, n)  # a unit change: most values beyond the reference
        x[rng.random(n) < 0.05] = np.nan
        return x

    ref = np.sort(draw(n1, 0.0))
    ref = ref[~np.isnan(ref)]
    cur = draw(n2, shift)
    grid = build_grid(ref, cells=cells)
    if grid is None:
        return
    exact_starts = np.searchsorted(grid.map(ref), np.arange(cells + 3), side="left")
    np.testing.assert_array_equal(grid.ref_before, exact_starts)
    edges = np.array(
        [np.quantile(ref[np.isfinite(ref)], q) for q in (0.1, 0.5, 0.9)]
        if np.isfinite(ref).any()
        else [0.0]
    )
    found = extremes_and_counts(grid, ref, cur, edges)
    cs = np.sort(cur)
    cs = cs[~np.isnan(cs)]
    if found is None or cs.size == 0:
        return
    plus, minus, n_valid, below = found
    assert n_valid == cs.size
    assert (plus, minus) == _extremes(ref, cs)
    np.testing.assert_array_equal(below, np.searchsorted(cs, edges, side="left"))
