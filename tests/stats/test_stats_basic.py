"""Basic behaviour of the stats kernels against scipy and hand-computed values."""

import math

import numpy as np
import pytest
import scipy.stats as ss

from modelsteward.errors import DataError, EmptyDataError, StewardError
from modelsteward.stats import (
    benjamini_hochberg,
    bonferroni,
    categorical_psi,
    chi2_homogeneity,
    fisher_z_drop_pvalue,
    ks_2samp_sorted,
    psi,
    psi_edges,
    psi_from_counts,
)


def test_ks_matches_scipy_small_exact_and_large_asymptotic() -> None:
    rng = np.random.default_rng(1)
    for n1, n2 in [(5, 7), (100, 100), (3000, 1200), (20_000, 15_000)]:
        a, b = rng.normal(size=n1), rng.normal(0.1, 1, n2)
        stat, p = ks_2samp_sorted(np.sort(a), b)
        ref = ss.ks_2samp(a, b)
        assert abs(stat - ref.statistic) <= 1e-12
        assert math.isclose(p, ref.pvalue, rel_tol=1e-9)


def test_ks_drops_nan_first() -> None:
    a = np.array([1.0, np.nan, 2.0, 3.0])
    b = np.array([np.nan, 2.5, 3.5])
    stat, p = ks_2samp_sorted(np.sort(a), b)
    ref = ss.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)])
    assert (stat, p) == pytest.approx((ref.statistic, ref.pvalue), rel=1e-12)


def test_ks_all_nan_side_is_a_typed_error() -> None:
    with pytest.raises(EmptyDataError, match="current sample has none"):
        ks_2samp_sorted(np.array([1.0, 2.0]), np.array([np.nan]))


def test_psi_hand_computed_two_bins() -> None:
    # 50/50 vs 25/75: (0.25-0.5)ln(0.25/0.5) + (0.75-0.5)ln(0.75/0.5), with eps added
    eps = 1e-4
    r, c = np.array([0.5, 0.5]) + eps, np.array([0.25, 0.75]) + eps
    expected = float(np.sum((c - r) * np.log(c / r)))
    assert psi_from_counts([50, 50], [25, 75]) == pytest.approx(expected, rel=1e-14)
    assert categorical_psi({"a": 50, "b": 50}, {"a": 25, "b": 75}) == pytest.approx(expected)


def test_psi_edges_merge_duplicates_of_heavy_ties() -> None:
    ref = np.sort(np.array([0.0] * 70 + list(range(1, 31)), dtype=float))
    edges = psi_edges(ref, 10)
    assert edges[0] == -np.inf and edges[-1] == np.inf
    assert np.all(np.diff(edges) > 0)  # strictly increasing after merging


def test_psi_equals_the_chapter_formula_on_continuous_data() -> None:
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=5000), rng.normal(0.3, 1.2, 3000)
    e = np.percentile(ref, np.linspace(0, 100, 11))
    e[0], e[-1] = -np.inf, np.inf
    rp = np.histogram(ref, e)[0] / ref.size + 1e-4
    cp = np.histogram(cur, e)[0] / cur.size + 1e-4
    chapter = float(np.sum((cp - rp) * np.log(cp / rp)))
    assert psi(ref, cur) == pytest.approx(chapter, rel=1e-12)


def test_psi_empty_is_typed_error() -> None:
    with pytest.raises(EmptyDataError):
        psi(np.array([np.nan]), np.array([1.0]))


def test_categorical_psi_unseen_bucket() -> None:
    assert categorical_psi({"a": 10}, {"a": 10}) == pytest.approx(0.0)
    assert categorical_psi({"a": 10}, {"a": 5, "zz": 5}) > 1.0


def test_chi2_matches_scipy_contingency_without_new_categories() -> None:
    ref, cur = {"a": 30, "b": 50, "c": 20}, {"a": 40, "b": 40, "c": 5}
    stat, p = chi2_homogeneity(ref, cur)
    expected = ss.chi2_contingency(np.array([[30, 50, 20], [40, 40, 5]]), correction=False)
    assert stat == pytest.approx(expected.statistic, rel=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9)


def test_chi2_with_new_categories_combines_known_and_new_parts() -> None:
    """Statistic: Pearson over the union table; p-value: Bonferroni over the known-category
    table (scipy) and the Good-Turing test of the new-category count."""
    ref, cur = {"a": 30, "b": 50, "c": 20}, {"a": 40, "b": 40, "d": 5}
    stat, p = chi2_homogeneity(ref, cur)
    union = ss.chi2_contingency(np.array([[30, 50, 20, 0], [40, 40, 0, 5]]), correction=False)
    known = ss.chi2_contingency(np.array([[30, 50, 20], [40, 40, 0]]), correction=False)
    # no reference singletons: 5 new draws of 5 + 0 at rate 85 / (85 + 100)
    new = ss.binom.sf(4, 5, 85 / 185)
    assert stat == pytest.approx(union.statistic, rel=1e-12)
    assert p == pytest.approx(min(1.0, 2 * min(known.pvalue, new)), rel=1e-9)


def test_fisher_z_drop() -> None:
    z = (math.atanh(0.8) - math.atanh(0.6)) / math.sqrt(1 / 197 + 1 / 97)
    assert fisher_z_drop_pvalue(0.8, 200, 0.6, 100) == pytest.approx(ss.norm.sf(z), rel=1e-12)
    assert fisher_z_drop_pvalue(0.6, 200, 0.8, 100) > 0.5  # a rise is not a drop
    with pytest.raises(DataError):
        fisher_z_drop_pvalue(float("nan"), 100, 0.5, 100)
    with pytest.raises(StewardError):
        fisher_z_drop_pvalue(0.5, 3, 0.5, 100)


def test_multiple_testing() -> None:
    p = np.array([0.01, 0.02, 0.03, 0.5])
    assert bonferroni(p).tolist() == pytest.approx([0.04, 0.08, 0.12, 1.0])
    assert benjamini_hochberg(p).tolist() == pytest.approx([0.04, 0.04, 0.04, 0.5])
