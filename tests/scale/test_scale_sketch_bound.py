"""The stated error bound holds: sketch D never further from the exact D than its bound."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from modelsteward.baseline.sketch import NumericSketch
from modelsteward.baseline.sketch_checks import sketch_ks, sketch_psi
from modelsteward.baseline.summary import ks_distance
from modelsteward.stats.ks import ks_critical_value, ks_pvalue_asymptotic
from modelsteward.stats.sketch_ks import ks_decision, psi_with_bound

N_PAIRS = 240


def _draw(rng: np.random.Generator, family: int, n: int, shift: float) -> np.ndarray:
    if family == 0:
        return rng.normal(shift, 1.0, n)
    if family == 1:
        return rng.lognormal(shift, 1.0, n)
    if family == 2:  # heavy ties
        return np.round(rng.normal(shift, 1.0, n), 1)
    if family == 3:
        return rng.standard_t(2, n) + shift
    return rng.poisson(5.0 + 5 * shift, n).astype(float)


def _exact_psi_on_edges(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> float:
    ra = np.histogram(a, bins=edges)[0] / a.size + 1e-4
    rb = np.histogram(b, bins=edges)[0] / b.size + 1e-4
    return float(np.sum((rb - ra) * np.log(rb / ra)))


@pytest.mark.slow
def test_bound_holds_on_many_simulated_pairs() -> None:
    rng = np.random.default_rng(20261126)
    ks_violations = psi_violations = flagged = false_flags = 0
    worst = 0.0
    for i in range(N_PAIRS):
        family = i % 5
        n_ref = int(rng.integers(3_000, 150_000))
        n_cur = int(rng.integers(3_000, 150_000))
        shift = float(rng.choice([0.0, 0.0, 0.01, 0.03, 0.1]))
        a = _draw(rng, family, n_ref, 0.0)
        b = _draw(rng, family, n_cur, shift)
        sa, sb = NumericSketch("x").update(a), NumericSketch("x").update(b)
        d, bound = ks_distance(sa, sb)
        exact = stats.ks_2samp(a, b)
        assert bound == sa.rank_error + sb.rank_error
        if abs(d - exact.statistic) > bound + 1e-12:
            ks_violations += 1
        if bound:
            worst = max(worst, abs(d - exact.statistic) / bound)
        iv = sketch_psi(sa, sb)
        from modelsteward.baseline.summary import quantile_edges

        exact_psi = _exact_psi_on_edges(a, b, quantile_edges(sa, 10))
        if not iv.lower - 1e-12 <= exact_psi <= iv.upper + 1e-12:
            psi_violations += 1
        decision = sketch_ks(sa, sb, p_threshold=0.01)
        if decision.is_significant:
            flagged += 1
            # what the sketch flags, the exact distance also clears the critical value
            if exact.statistic <= ks_critical_value(0.01, n_ref, n_cur):
                false_flags += 1
    print(f"pairs={N_PAIRS} ks_violations={ks_violations} psi_violations={psi_violations} "
          f"worst |D-Dexact|/bound={worst:.3f} flagged={flagged}")
    assert ks_violations == 0
    assert psi_violations == 0
    assert false_flags == 0
    assert flagged > 0.2 * N_PAIRS  # the test has power: real shifts are caught


def test_no_drift_at_a_million_rows_is_not_flagged() -> None:
    """whylogs' failure (issue 684): sketch error read as drift. Here the bound absorbs it."""
    rng = np.random.default_rng(7)
    flagged = 0
    for _ in range(5):
        a = NumericSketch("x").update(rng.normal(size=1_000_000))
        b = NumericSketch("x").update(rng.normal(size=1_000_000))
        flagged += sketch_ks(a, b, p_threshold=0.05).is_significant
    assert flagged == 0


def test_decision_needs_the_lower_end_above_critical_value_and_min_effect() -> None:
    crit = ks_critical_value(0.01, 10**6, 10**6)
    assert not ks_decision(crit + 0.001, 0.002, 10**6, 10**6).is_significant
    assert ks_decision(crit + 0.003, 0.002, 10**6, 10**6).is_significant
    assert not ks_decision(crit + 0.003, 0.002, 10**6, 10**6, min_effect=0.05).is_significant
    r = ks_decision(0.2, 0.01, 500, 500, p_threshold=0.01)
    assert r.p_value == pytest.approx(ks_pvalue_asymptotic(0.19, 500, 500))
    assert r.p_value >= r.p_value_point  # the conservative p-value
    assert set(r.to_dict()) >= {"statistic", "bound", "critical_value", "p_value"}


def test_critical_value_matches_the_asymptotic_pvalue() -> None:
    for n, m in [(1000, 1000), (50_000, 3_000), (10**6, 10**5)]:
        c = ks_critical_value(0.01, n, m)
        assert ks_pvalue_asymptotic(c, n, m) == pytest.approx(0.01, rel=1e-4)
        # and agrees with scipy's asymptotic KS p-value for a real sample of that distance
    a = np.random.default_rng(0).normal(size=20_000)
    b = np.random.default_rng(1).normal(0.05, 1, size=20_000)
    res = stats.ks_2samp(a, b, method="asymp")
    p = ks_pvalue_asymptotic(res.statistic, a.size, b.size)
    assert p == pytest.approx(res.pvalue, rel=1e-6)


def test_psi_interval_brackets_perturbed_proportions() -> None:
    rng = np.random.default_rng(5)
    for _ in range(200):
        r = rng.dirichlet(np.ones(10))
        c = rng.dirichlet(np.ones(10))
        err = 0.01
        iv = psi_with_bound(r, c, err, err)
        for _ in range(5):
            rr = np.clip(r + rng.uniform(-err, err, 10), 0, 1)
            cc = np.clip(c + rng.uniform(-err, err, 10), 0, 1)
            p = float(np.sum((cc + 1e-4 - rr - 1e-4) * np.log((cc + 1e-4) / (rr + 1e-4))))
            assert iv.lower - 1e-12 <= p <= iv.upper + 1e-12
        assert iv.lower <= iv.psi <= iv.upper
