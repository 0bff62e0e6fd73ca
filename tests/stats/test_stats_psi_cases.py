"""PSI against hand-computed cases, duplicate edges, categorical buckets; chi-square, BH."""

import math

import numpy as np
import pytest
import scipy.stats as ss
from hypothesis import given, settings
from hypothesis import strategies as st

from modelsteward.errors import DataError
from modelsteward.stats import (
    benjamini_hochberg,
    bonferroni,
    categorical_psi,
    chi2_homogeneity,
    psi,
    psi_edges,
    psi_from_counts,
)
from modelsteward.stats.psi import psi_bin_counts


def _term(c: float, r: float) -> float:
    return (c - r) * math.log(c / r)


def test_psi_four_quartile_bins_by_hand() -> None:
    ref = np.arange(1.0, 9.0)  # quartile edges at 2.75, 4.5, 6.25
    cur = np.array([1.0, 1.0, 1.0, 1.0, 5.0, 5.0, 8.0, 8.0])
    e = 1e-4
    # reference: 2 per bin (0.25 each); current: 4, 0, 2, 2 of 8
    expected = _term(0.5 + e, 0.25 + e) + _term(0 + e, 0.25 + e) + 2 * _term(0.25 + e, 0.25 + e)
    np.testing.assert_allclose(psi_edges(np.sort(ref), 4), [-np.inf, 2.75, 4.5, 6.25, np.inf])
    assert psi(ref, cur, n_bins=4) == pytest.approx(expected, rel=1e-14)


def test_psi_value_on_an_edge_goes_to_the_upper_bin() -> None:
    ref = np.sort(np.array([0.0, 1.0, 2.0, 3.0, 4.0]))  # n_bins=2 -> inner edge 2.0
    assert psi_bin_counts(ref, psi_edges(ref, 2)).tolist() == [2, 3]  # like np.histogram


def test_heavy_ties_merge_edges_without_changing_the_value() -> None:
    rng = np.random.default_rng(0)
    ref = np.where(rng.random(5000) < 0.7, 0.0, rng.exponential(size=5000))
    cur = np.where(rng.random(3000) < 0.5, 0.0, rng.exponential(size=3000))
    raw = np.percentile(ref, np.linspace(0, 100, 11))
    raw[0], raw[-1] = -np.inf, np.inf
    assert len(np.unique(raw)) < len(raw)  # the chapter's edges repeat
    r = np.histogram(ref, raw)[0] / ref.size + 1e-4
    c = np.histogram(cur, raw)[0] / cur.size + 1e-4
    chapter = float(np.sum((c - r) * np.log(c / r)))
    assert psi(ref, cur) == pytest.approx(chapter, rel=1e-12)
    assert len(psi_edges(np.sort(ref))) == len(np.unique(raw))


def test_constant_reference_has_two_bins() -> None:
    edges = psi_edges(np.full(100, 3.0))
    assert edges.tolist() == [-np.inf, 3.0, np.inf]
    assert psi(np.full(100, 3.0), np.full(50, 3.0)) == pytest.approx(0.0)
    assert psi(np.full(100, 3.0), np.full(50, 2.0)) > 5


def test_infinite_values_fall_in_outer_bins_and_never_nan() -> None:
    ref = np.array([-np.inf, 0.0, 1.0, 2.0, np.inf, np.inf])
    value = psi(ref, np.array([np.inf, np.inf, -np.inf, 5.0]))
    assert math.isfinite(value) and value >= 0


def test_psi_is_symmetric_and_non_negative_on_counts() -> None:
    assert psi_from_counts([1, 2, 3], [3, 2, 1]) == pytest.approx(
        psi_from_counts([3, 2, 1], [1, 2, 3])
    )
    with pytest.raises(DataError):
        psi_from_counts([1, 2], [1, 2, 3])
    with pytest.raises(DataError):
        psi_from_counts([1, -2], [1, 2])


def test_categorical_psi_unseen_bucket_by_hand() -> None:
    e = 1e-4
    expected = _term(0.5 + e, 1.0 + e) + _term(0.5 + e, 0.0 + e)
    assert categorical_psi({"a": 4}, {"a": 2, "x": 1, "y": 1}) == pytest.approx(expected)
    # categories missing from the current window count as 0
    assert categorical_psi({"a": 1, "b": 1}, {"a": 2}) == pytest.approx(
        _term(1 + e, 0.5 + e) + _term(e, 0.5 + e)
    )


def _tables_by_hand(ref: dict, cur: dict) -> tuple[np.ndarray, np.ndarray, int]:
    """(known table, shown table, new draws): reference categories whose smaller expected
    count is >= 5 (the others leave the known table; the shown table pools them into one
    column), then one column for every category only the current sample has."""
    n_ref = sum(ref.values())
    n_known = sum(cur.get(k, 0) for k in ref)
    share = min(n_ref, n_known) / (n_ref + n_known)
    seen = [k for k in ref if (ref[k] + cur.get(k, 0)) * share >= 5]
    sparse = [k for k in ref if ref[k] + cur.get(k, 0) > 0 and k not in seen]
    new = sum(cur[k] for k in cur if k not in ref)
    cols = [[ref[k], cur.get(k, 0)] for k in seen]
    shown = list(cols)
    if sparse:
        shown.append([sum(ref[k] for k in sparse), sum(cur.get(k, 0) for k in sparse)])
    if new > 0:
        cols.append([0, new])
        shown.append([0, new])
    as_table = lambda c: np.array(c, dtype=float).T.reshape(2, len(c))  # noqa: E731
    return as_table(cols), as_table(shown), new


def _scipy_p(table: np.ndarray) -> float:
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    return float(ss.chi2_contingency(table, correction=False).pvalue)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 500), min_size=1),
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 500), min_size=1),
)
def test_chi2_matches_scipy_on_its_tables(ref: dict, cur: dict) -> None:
    """Statistic: scipy's on the shown table. p-value: scipy's on the known table without new
    categories; with them, Bonferroni of that and the Good-Turing new-category test."""
    if sum(ref.values()) == 0 or sum(cur.values()) == 0 or \
            sum(cur.get(k, 0) for k in ref) == 0 and not any(cur[k] for k in cur if k not in ref):
        return
    stat, p = chi2_homogeneity(ref, cur)
    known, shown, new = _tables_by_hand(ref, cur)
    if shown.shape[1] < 2:
        assert stat == 0.0
    else:
        expected = ss.chi2_contingency(shown, correction=False)
        assert stat == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    if new == 0:
        assert p == pytest.approx(_scipy_p(known), rel=1e-7, abs=1e-300)
        return
    n, m = sum(ref.values()), sum(cur.values())
    singletons = sum(1 for v in ref.values() if v == 1)
    p_new = float(ss.binom.sf(new - 1, new + singletons, m / (m + n)))
    expected_p = min(1.0, 2 * min(_scipy_p(known[:, :-1]), p_new))
    assert p == pytest.approx(expected_p, rel=1e-7, abs=1e-300)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(50, 500), min_size=1),
    st.dictionaries(st.sampled_from("abcdef"), st.integers(50, 500), min_size=1),
)
def test_chi2_without_sparse_or_new_columns_is_scipy_on_the_union_table(
        ref: dict, cur: dict) -> None:
    """No sparse and no new category: exactly scipy on the union table."""
    if any(k not in ref for k in cur):
        return
    known, _shown, _new = _tables_by_hand(ref, cur)
    if known.shape[1] != sum(1 for k in ref if ref[k] + cur.get(k, 0) > 0):
        return  # a sparse column left the table
    stat, p = chi2_homogeneity(ref, cur)
    keys = sorted(set(ref) | set(cur))
    table = np.array([[ref.get(k, 0) for k in keys], [cur.get(k, 0) for k in keys]])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        assert (stat, p) == (0.0, 1.0)
        return
    expected = ss.chi2_contingency(table, correction=False)
    assert stat == pytest.approx(expected.statistic, rel=1e-9, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-7, abs=1e-300)


def test_chi2_disjoint_categories_are_different() -> None:
    """1,000 vs 1,000 categories with none shared, the reference's repeating (5 rows each):
    the old union table said p = 0.49. (All-singleton references: see test_drift_properties.)"""
    ref = {f"r{i}": 5 for i in range(1_000)}
    cur = {f"c{i}": 5 for i in range(1_000)}
    stat, p = chi2_homogeneity(ref, cur)
    assert p < 1e-100 and stat == pytest.approx(10_000.0)
    # thinly spread new mass next to a shared category still counts as one block
    stat, p = chi2_homogeneity({"a": 500}, {"a": 250, **{f"n{i}": 1 for i in range(250)}})
    assert p < 1e-50


def test_benjamini_hochberg_by_hand_and_properties() -> None:
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    adj = benjamini_hochberg(p)
    # step-up: min over j >= i of p_j * m / j
    m = len(p)
    by_hand = [min(p[j] * m / (j + 1) for j in range(i, m)) for i in range(m)]
    np.testing.assert_allclose(adj, by_hand)
    shuffled = np.random.default_rng(0).permutation(m)
    np.testing.assert_allclose(benjamini_hochberg(p[shuffled]), adj[shuffled])
    assert np.all(adj >= p) and np.all(bonferroni(p) >= adj)
    assert benjamini_hochberg([]).size == 0
    with pytest.raises(DataError):
        benjamini_hochberg([0.1, float("nan")])
