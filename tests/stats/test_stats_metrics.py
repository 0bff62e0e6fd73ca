"""stats.metrics: equal to scikit-learn, defined on degenerate input, DeLong close to the
bootstrap; stats.correlation: one Fisher z with a known or a sampled reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn import metrics as skm

from modelsteward.errors import DataError
from modelsteward.stats.correlation import fisher_z_drop, fisher_z_drop_pvalue
from modelsteward.stats.metrics import (
    auc_delong,
    higher_is_better,
    metric_rows,
    performance_metrics,
    rate_se,
)


def _binary(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    p = rng.uniform(size=n)
    p[: n // 10] = 0.5  # ties, and scores exactly at the threshold
    return (rng.uniform(size=n) < p).astype(float), p


def test_binary_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y, p = _binary(rng, 2_000)
    m = performance_metrics("binary", y, p, threshold=0.5)
    hard = (p > 0.5).astype(int)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p))
    assert m["f1"] == pytest.approx(skm.f1_score(y, hard))
    assert m["precision"] == pytest.approx(skm.precision_score(y, hard))
    assert m["recall"] == pytest.approx(skm.recall_score(y, hard))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, hard))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, p))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    # the decision threshold is the model's, not a fixed 0.5
    m7 = performance_metrics("binary", y, p, threshold=0.7)
    assert m7["f1"] == pytest.approx(skm.f1_score(y, p > 0.7))


def test_multiclass_and_regression_metrics_equal_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    proba = rng.dirichlet([1, 1, 1], size=1_500)
    y = np.array([rng.choice(3, p=r) for r in proba]).astype(float)
    m = performance_metrics("multiclass", y, proba)
    assert m["macro_f1"] == pytest.approx(skm.f1_score(y, proba.argmax(1), average="macro"))
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, proba.argmax(1)))
    assert m["macro_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr",
                                                             average="macro"))
    for c in range(3):
        assert m[f"auc[{c}]"] == pytest.approx(skm.roc_auc_score(y == c, proba[:, c]))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    t = rng.normal(3, 1, size=800)
    pred = t + rng.normal(size=800)
    r = performance_metrics("regression", t, pred)
    assert r["mae"] == pytest.approx(skm.mean_absolute_error(t, pred))
    assert r["rmse"] == pytest.approx(math.sqrt(skm.mean_squared_error(t, pred)))
    assert r["r2"] == pytest.approx(skm.r2_score(t, pred))
    assert r["mape"] == pytest.approx(skm.mean_absolute_percentage_error(t, pred))


def test_batched_rows_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(2)
    y, p = _binary(rng, 3_000)
    idx = rng.integers(0, 3_000, (50, 300))
    rows = metric_rows("binary", "roc_auc", y[idx], p[idx])
    assert rows == pytest.approx([skm.roc_auc_score(y[i], p[i]) for i in idx])
    f1 = metric_rows("binary", "f1", y[idx], p[idx], threshold=0.4)
    assert f1 == pytest.approx([skm.f1_score(y[i], p[i] > 0.4) for i in idx])


def test_degenerate_input_is_defined_never_nan() -> None:
    one_class = performance_metrics("binary", [1, 1, 1, 1], [0.2, 0.9, 0.6, 0.7])
    assert "roc_auc" not in one_class and one_class["recall"] == 0.75
    assert all(math.isfinite(v) for v in one_class.values())
    const = performance_metrics("regression", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert "r2" not in const and const["mae"] == pytest.approx(2 / 3)
    zeros = performance_metrics("regression", [0.0, 1e-12, 0.0], [1.0, 2.0, 3.0])
    assert "mape" not in zeros  # every outcome near zero: no percentage error
    mixed = performance_metrics("regression", [0.0, 10.0], [1.0, 11.0])
    assert mixed["mape"] == pytest.approx(0.1)  # the zero outcome is left out, not 1e15
    scores = performance_metrics("binary", [0, 1, 0, 1], [-2.0, 3.0, -1.0, 0.7])
    assert "log_loss" not in scores and scores["roc_auc"] == 1.0  # scores, not probabilities
    assert performance_metrics("binary", [], []) == {}
    with pytest.raises(DataError, match="not defined"):
        metric_rows("regression", "roc_auc", np.zeros((1, 3)), np.zeros((1, 3)))
    assert higher_is_better("macro_f1") and not higher_is_better("rmse")


def test_delong_standard_error_matches_the_bootstrap() -> None:
    rng = np.random.default_rng(3)
    y, p = _binary(rng, 1_000)
    auc, se = auc_delong(y, p)
    assert auc == pytest.approx(skm.roc_auc_score(y, p))
    idx = rng.integers(0, 1_000, (2_000, 1_000))
    boot = metric_rows("binary", "roc_auc", y[idx], p[idx])
    assert se == pytest.approx(float(np.std(boot)), rel=0.1)
    with pytest.raises(DataError, match="two rows of each class"):
        auc_delong([1, 1, 0], [0.3, 0.4, 0.5])
    assert rate_se(0.5, 400) == 0.025


def test_fisher_z_known_and_sampled_reference() -> None:
    known = fisher_z_drop(0.6, None, 0.5, 403)
    assert known.z_drop == pytest.approx(math.atanh(0.6) - math.atanh(0.5))
    assert known.se == pytest.approx(1 / 20)
    sampled = fisher_z_drop(0.6, 403, 0.5, 403)
    assert sampled.se == pytest.approx(math.sqrt(2) / 20)
    assert sampled.p_value > known.p_value  # an uncertain reference is weaker evidence
    assert fisher_z_drop_pvalue(0.6, 403, 0.5, 403) == sampled.p_value
    with pytest.raises(DataError, match="above 3"):
        fisher_z_drop(0.6, None, 0.5, 3)
