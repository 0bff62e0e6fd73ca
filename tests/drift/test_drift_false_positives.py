"""Under no drift, the share of features flagged at p < 0.01 stays at or below about 1%."""

import numpy as np
import pytest

from modelsteward.baseline import Baseline
from modelsteward.drift import detect_data_drift

FAMILIES = {
    "normal": lambda rng, n: rng.normal(0, 1, n),
    "lognormal": lambda rng, n: rng.lognormal(0, 1, n),
    "poisson": lambda rng, n: rng.poisson(4, n).astype(float),  # heavy ties
    "rounded": lambda rng, n: np.round(rng.normal(0, 1, n), 1),
    "uniform_nan": lambda rng, n: np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 1, n)),
    "categorical": lambda rng, n: rng.choice(list("abcde"), n, p=[0.4, 0.3, 0.15, 0.1, 0.05]),
}


def _window(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    return {name: draw(rng, n) for name, draw in FAMILIES.items()}


@pytest.mark.slow
def test_false_positive_rate_at_one_percent() -> None:
    flagged = tested = 0
    per_family = dict.fromkeys(FAMILIES, 0)
    for ref_seed in range(8):
        # the population is fixed; the reference and every window are samples from it
        rng = np.random.default_rng(1000 + ref_seed)
        baseline = Baseline.fit(_window(rng, 20_000))
        for _ in range(60):
            for r in detect_data_drift(baseline, _window(rng, 2_000), p_threshold=0.01):
                flagged += r.is_drifted
                per_family[r.feature] += r.is_drifted
                tested += 1
    rate = flagged / tested
    assert tested == 8 * 60 * len(FAMILIES)
    assert rate <= 0.015, (rate, per_family)
    # the continuous families are not overly conservative either: some flags happen
    assert flagged >= 5, per_family


def test_detects_a_real_shift() -> None:
    rng = np.random.default_rng(5)
    baseline = Baseline.fit(_window(rng, 20_000))
    window = _window(rng, 2_000)
    window["normal"] = window["normal"] + 0.3
    window["categorical"] = rng.choice(list("abcde"), 2_000)
    drifted = {r.feature for r in detect_data_drift(baseline, window) if r.is_drifted}
    assert {"normal", "categorical"} <= drifted
