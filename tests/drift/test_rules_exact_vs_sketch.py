"""Every rule in exact and in sketch mode on the same data: the decisions agree wherever the
sketch's stated bound allows (and the sketch never flags what the exact rule does not)."""

from __future__ import annotations

import numpy as np
import pytest

from modelsteward.baseline import Baseline
from modelsteward.drift import detect_data_drift, detect_feature_degradation
from modelsteward.stats.ks import ks_pvalue_asymptotic
from modelsteward.stats.sketch_ks import ks_decision

N_REF, N_CUR = 60_000, 40_000  # large enough that the KLL sketches estimate (bound > 0)


def _data(seed: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    cats = np.array([f"k{i}" for i in range(30)])
    ref = {
        "same": rng.normal(size=N_REF),
        "shift_small": rng.normal(size=N_REF),
        "shift_large": rng.normal(size=N_REF),
        "scale": rng.lognormal(size=N_REF),
        "ties": np.round(rng.normal(size=N_REF), 1),
        "nulls": rng.normal(size=N_REF),
        "constant": rng.normal(size=N_REF),
        "outside": rng.uniform(0, 1, N_REF),
        "ids": rng.integers(0, 5_000, N_REF).astype(float),
        "cat_same": rng.choice(cats, N_REF),
        "cat_shift": rng.choice(cats, N_REF),
        "cat_new": rng.choice(cats, N_REF),
    }
    nulls = rng.normal(size=N_CUR)
    nulls[: N_CUR // 5] = np.nan
    outside = rng.uniform(0, 1, N_CUR)
    outside[: N_CUR // 20] = 5.0 + rng.uniform(size=N_CUR // 20)
    p = np.linspace(1, 2, 30)
    cur = {
        "same": rng.normal(size=N_CUR),
        "shift_small": rng.normal(0.02, 1, N_CUR),
        "shift_large": rng.normal(0.3, 1, N_CUR),
        "scale": rng.lognormal(0, 1.3, N_CUR),
        "ties": np.round(rng.normal(0.05, 1, N_CUR), 1),
        "nulls": nulls,
        "constant": np.full(N_CUR, 0.5),
        "outside": outside,
        "ids": rng.integers(0, 800, N_CUR).astype(float),
        "cat_same": rng.choice(cats, N_CUR),
        "cat_shift": rng.choice(cats, N_CUR, p=p / p.sum()),
        "cat_new": np.where(rng.uniform(size=N_CUR) < 0.05, "brand_new", rng.choice(cats, N_CUR)),
    }
    return ref, cur


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("min_effect", [0.0, 0.02])
def test_data_drift_decisions_agree_within_the_bound(seed: int, min_effect: float) -> None:
    ref, cur = _data(seed)
    base = Baseline.fit(ref)
    exact = {r.feature: r for r in detect_data_drift(base, cur, mode="exact",
                                                     min_effect=min_effect)}
    sketch = {r.feature: r for r in detect_data_drift(base, cur, mode="sketch",
                                                      min_effect=min_effect)}
    assert set(exact) == set(sketch) == set(ref)
    bounded = 0
    for name, e in exact.items():
        s = sketch[name]
        assert e.mode == "exact" and s.mode == "sketch"
        if s.is_drifted:  # the sketch is conservative
            assert e.is_drifted, (name, e, s)
        if e.test == "chi2":  # frequent-items counts are exact at 30 categories
            assert s.statistic_bound == 0.0
            assert (s.statistic, s.p_value, s.is_drifted) == (e.statistic, e.p_value,
                                                              e.is_drifted)
            continue
        bounded += s.statistic_bound > 0
        assert abs(s.statistic - e.statistic) <= s.statistic_bound + 1e-12, name
        assert abs(s.psi - e.psi) <= s.psi_bound + 1e-9, name
        # exact clearly drifted: even D - 2 bound is significant and large enough
        clear = e.statistic - 2 * s.statistic_bound
        if e.is_drifted and clear > min_effect and ks_pvalue_asymptotic(
            clear, e.n_reference, e.n_current
        ) < e.p_threshold:
            assert s.is_drifted, (name, e, s)
    assert bounded >= 5  # the sketches did estimate
    assert exact["shift_large"].is_drifted and not exact["same"].is_drifted
    assert sketch["shift_large"].is_drifted and not sketch["same"].is_drifted


def test_min_effect_means_the_same_in_both_modes() -> None:
    """A tiny shift at a large n is significant; min_effect above its D silences it in exact
    mode (it used to be ignored there) exactly as in sketch mode."""
    ref, cur = _data(3)
    base = Baseline.fit({"shift_small": ref["shift_small"]})
    window = {"shift_small": cur["shift_small"] + 0.05}
    for mode in ("exact", "sketch"):
        (plain,) = detect_data_drift(base, window, mode=mode)
        (strict,) = detect_data_drift(base, window, mode=mode, min_effect=0.2)
        assert plain.is_drifted and plain.statistic < 0.2
        assert not strict.is_drifted and strict.p_value < strict.p_threshold
        if mode == "exact":  # (KLL compaction is randomised: two sketches differ a little)
            assert strict.p_value == plain.p_value


def test_sketch_decision_uses_the_same_pvalue_as_exact_when_its_bound_is_zero() -> None:
    d = 0.3
    r = ks_decision(d, 0.0, 40, 60)
    from scipy import stats

    a = np.repeat([0.0, 1.0], [22, 18])  # 22/40 - 15/60 = 0.3
    b = np.repeat([0.0, 1.0], [15, 45])
    assert r.p_value == stats.ks_2samp(a, b).pvalue


def _true_distinct(values: np.ndarray) -> int:
    v = values[~np.isnan(values)]
    return int(np.unique(v).size)


@pytest.mark.parametrize("seed", [1, 2])
def test_degradation_decisions_agree_within_the_bound(seed: int) -> None:
    ref, cur = _data(seed)
    base = Baseline.fit(ref)
    exact = {(a.feature, a.alert_type): a for a in detect_feature_degradation(base, cur,
                                                                             mode="exact")}
    sketch = {(a.feature, a.alert_type): a for a in detect_feature_degradation(base, cur,
                                                                              mode="sketch")}
    assert ("constant", "low_variance") in exact and ("nulls", "null_rate") in exact
    assert ("outside", "out_of_range") in exact and ("cat_new", "unseen_categories") in exact
    assert ("ids", "cardinality_collapse") in exact
    for key in set(exact) | set(sketch):
        feature, rule = key
        if rule in ("null_rate", "low_variance", "unseen_categories", "missing_feature"):
            assert (key in exact) == (key in sketch), key  # exact quantities in a sketch
            if key in exact:
                assert sketch[key].current_value == pytest.approx(exact[key].current_value,
                                                                  rel=1e-9)
        elif rule == "out_of_range":
            if key in sketch:
                assert key in exact  # conservative
            elif key in exact:  # missed only within twice the rank error of the bar
                a = exact[key]
                assert a.current_value - a.threshold <= 4 * 0.0014 + 1e-12, a
        else:
            assert rule == "cardinality_collapse"
            profile = base.columns[feature]
            n_valid = int(np.count_nonzero(~np.isnan(np.asarray(cur[feature], dtype=float)))) \
                if profile.kind == "numeric" else len(cur[feature])
            from modelsteward.drift import expected_distinct

            mult = profile.multiplicities()
            assert mult is not None
            ratio = _true_distinct(np.asarray(cur[feature], dtype=float)) / expected_distinct(
                mult[0], n_valid, mult[1])
            if abs(ratio - 0.3) > 0.3 * 0.03:  # HLL within 3% of the truth
                assert (key in exact) == (key in sketch), (key, ratio)


def test_ks_pvalue_from_a_distance_equals_scipys_exact_branch() -> None:
    """The one KS p-value: from (d, n1, n2) alone, as scipy's exact branch (rounding d to its
    lattice) and its asymptotic branch report it."""
    from scipy.stats import _stats_py  # the reference only; the product uses public API

    from modelsteward.stats.ks import ks_pvalue

    rng = np.random.default_rng(0)
    for n1, n2 in [(3, 7), (10, 10), (25, 40), (97, 300), (1_000, 1_500)]:
        g = np.gcd(n1, n2)
        for d in rng.uniform(0, 1, 20):
            ok, d_exact, p = _stats_py._attempt_exact_2kssamp(n1, n2, g, float(d), "two-sided")
            assert ok
            got_d, got_p = ks_pvalue(float(d), n1, n2)
            assert got_d == pytest.approx(d_exact, abs=1e-15)
            assert got_p == pytest.approx(float(np.clip(p, 0, 1)), rel=1e-12, abs=1e-300)
