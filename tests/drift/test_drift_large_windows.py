"""Large windows take the cell-grid path (no full sort): results still equal scipy's KS and
the chapter's PSI, on continuous, tied, null, infinite and drifted columns."""

import numpy as np
import pytest
import scipy.stats as ss

from modelsteward.baseline import Baseline
from modelsteward.drift import detect_data_drift
from modelsteward.stats import psi


def _columns(rng: np.random.Generator, n: int, drift: bool) -> dict[str, np.ndarray]:
    s = 1.0 if drift else 0.0
    nulls = rng.normal(0, 1, n)
    nulls[rng.random(n) < (0.3 if drift else 0.02)] = np.nan
    infs = rng.standard_cauchy(n)
    infs[rng.random(n) < 0.001] = np.inf
    return {
        "normal": rng.normal(0.02 * s, 1, n),
        "poisson": rng.poisson(4 + 0.1 * s, n).astype(float),
        "zeros": np.where(rng.random(n) < 0.7, 0.0, rng.exponential(1 + 0.2 * s, n)),
        "rounded": np.round(rng.normal(0, 1 + 0.05 * s, n), 2),
        "nulls": nulls,
        "cauchy_inf": infs,
        "scaled": rng.normal(0, 1, n) * (100.0 if drift else 1.0),
        "constant": np.full(n, 0.25) if drift else rng.normal(0, 1, n),
    }


@pytest.mark.slow
@pytest.mark.parametrize("drift", [False, True])
def test_grid_path_equals_scipy_and_chapter_psi(drift: bool, monkeypatch) -> None:
    import modelsteward.drift.data_drift as data_drift

    used: list[bool] = []
    original = data_drift.extremes_and_counts

    def spy(*args):  # type: ignore[no-untyped-def]
        found = original(*args)
        used.append(found is not None)
        return found

    monkeypatch.setattr(data_drift, "extremes_and_counts", spy)
    rng = np.random.default_rng(11 + drift)
    ref = _columns(rng, 300_000, drift=False)
    cur = _columns(rng, 200_000, drift=drift)
    results = {r.feature: r for r in detect_data_drift(Baseline.fit(ref), cur)}
    assert sum(used) >= 5  # most columns took the grid path
    for name, r in results.items():
        a, b = ref[name][~np.isnan(ref[name])], cur[name][~np.isnan(cur[name])]
        expected = ss.ks_2samp(a, b)
        assert abs(r.statistic - expected.statistic) <= 1e-12, name
        assert (r.p_value < 1e-300 and expected.pvalue < 1e-300) or r.p_value == pytest.approx(
            expected.pvalue, rel=1e-9
        ), (name, r.p_value, expected.pvalue)
        assert r.psi == pytest.approx(psi(a, b), rel=1e-12, abs=1e-15), name
        assert r.n_current == b.size and r.n_reference == a.size
