"""Multivariate drift: changes in how features move together, which per-feature tests miss.

Two checks against a :class:`~modelsteward.baseline.joint.JointReference`
(``Baseline.fit(..., joint=True)``):

* :func:`detect_reconstruction_drift` — the window's mean PCA reconstruction error against a
  band for a window of *that* size. The band is the ``alpha/2`` and ``1 - alpha/2``
  quantiles of ``mean(n draws) - mean(held-out)`` around the held-out mean, where the
  ``n`` draws are a bootstrap (1,000 resamples, with replacement) of the held-out reference
  errors, so it is noise-aware at the window's n; the reference mean's own uncertainty is
  added as a normal term with variance ``s^2 / n_heldout``. Above 20,000 rows the window
  part is the normal approximation ``s^2 / n`` too (the bootstrap mean is normal there).
  Two-sided: a window outside the band either way is drifted.
* :func:`detect_classifier_drift` — a ``HistGradientBoostingClassifier`` trained to tell the
  reference sample from the window, stratified k-fold (default 3, to bound the cost). In
  each fold the AUC of the held-out fold's scores is a Mann–Whitney U statistic, tested
  against 0.5 one-sided (normal approximation, tie and continuity corrected); the folds'
  p-values are merged as twice their median (Vovk & Wang 2020: a valid p-value under any
  dependence between the folds), and the reported AUC is the folds' mean. Measured on 80 no-
  change windows: pooling all out-of-fold scores into one U test gave 8.8% false alarms at a
  nominal 5%, Stouffer's sum of the fold z values 11% (the folds' models share training
  rows), the median rule 0% (conservative). Permutation importance on the held-out rows of
  one fold says which features it leans on ("what moved together"); it is only computed when
  the test flags, to bound the cost.

    >>> import numpy as np
    >>> from modelsteward.baseline.joint import JointReference
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=20_000)
    >>> ref = JointReference.fit({"x": x, "y": x + 0.3 * rng.normal(size=20_000)})
    >>> a, b = rng.normal(size=2_000), rng.normal(size=2_000)   # decoupled, same marginals
    >>> r = detect_reconstruction_drift(ref, {"x": a, "y": 1.044 * b})
    >>> r.is_drifted, r.top_features[0][0] in ("x", "y")
    (True, True)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata

from modelsteward.baseline.columns import as_columns
from modelsteward.baseline.joint import JointReference
from modelsteward.errors import DataError, EmptyDataError

__all__ = [
    "MultivariateDriftResult",
    "detect_classifier_drift",
    "detect_reconstruction_drift",
    "reconstruction_band",
]

N_BOOTSTRAP = 1_000
BOOTSTRAP_MAX_N = 20_000
MIN_ROWS = 10


@dataclass(frozen=True)
class MultivariateDriftResult:
    """One joint check on one window.

    ``method`` is ``"reconstruction"`` (statistic: mean reconstruction error; band: the
    no-drift band for a window of ``n`` rows at level ``alpha``) or ``"classifier"``
    (statistic: cross-validated AUC; band: ``[0.5, critical AUC]``; ``p_value``: one-sided
    Mann–Whitney). ``top_features`` are ``(feature, score)`` pairs, largest first: the
    per-feature error increase over the held-out mean (reconstruction) or the permutation
    importance in AUC (classifier).
    """

    method: str
    statistic: float
    lower: float
    upper: float
    is_drifted: bool
    n: int
    alpha: float
    reference_value: float
    p_value: float | None = None
    n_reference: int = 0
    top_features: tuple[tuple[str, float], ...] = ()
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method, "statistic": self.statistic, "lower": self.lower,
            "upper": self.upper, "is_drifted": self.is_drifted, "n": self.n,
            "alpha": self.alpha, "reference_value": self.reference_value,
            "p_value": self.p_value, "n_reference": self.n_reference,
            "top_features": [{"feature": f, "score": s} for f, s in self.top_features],
            "seconds": self.seconds, "notes": list(self.notes),
        }


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise DataError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")


def reconstruction_band(
    errors: np.ndarray, n: int, alpha: float, *, seed: int = 0
) -> tuple[float, float]:
    """No-drift band of a window's mean error at ``n`` rows (see the module docstring)."""
    _check_alpha(alpha)
    m = errors.size
    if m < 2:
        raise EmptyDataError("the joint reference holds fewer than 2 held-out errors; refit it "
                             "on more reference rows")
    mean = float(errors.mean())
    sd = float(errors.std(ddof=1))
    rng = np.random.default_rng(seed + n)
    ref_part = rng.normal(0.0, sd / math.sqrt(m), N_BOOTSTRAP)
    if n <= BOOTSTRAP_MAX_N:
        sums = np.zeros(N_BOOTSTRAP)
        step = max(1, 2_000_000 // max(n, 1))
        for start in range(0, N_BOOTSTRAP, step):
            stop = min(N_BOOTSTRAP, start + step)
            idx = rng.integers(0, m, size=(stop - start, n))
            sums[start:stop] = errors[idx].sum(axis=1)
        win_part = sums / n - mean
    else:
        win_part = rng.normal(0.0, sd / math.sqrt(n), N_BOOTSTRAP)
    diff = win_part - ref_part
    lo, hi = np.quantile(diff, [alpha / 2, 1 - alpha / 2])
    return mean + float(lo), mean + float(hi)


def _window_raw(ref: JointReference, window: Any) -> tuple[np.ndarray, list[str]]:
    raw, missing = ref.raw_matrix(window)
    if raw.shape[0] < MIN_ROWS:
        raise EmptyDataError(f"a window needs at least {MIN_ROWS} rows for the joint checks, "
                             f"got {raw.shape[0]}; use longer windows")
    return raw, missing


def detect_reconstruction_drift(
    reference: JointReference, window: Any, *, alpha: float = 0.01, top: int = 5,
    max_rows: int = 20_000, seed: int = 0,
) -> MultivariateDriftResult:
    """Mean PCA reconstruction error of ``window`` against its no-drift band.

    Windows above ``max_rows`` rows are tested on a uniform random subsample of that many
    rows (the band is for the subsample's size, so the level holds; only very small
    changes in very large windows lose power). This bounds the cost.
    """
    t0 = time.perf_counter()
    _check_alpha(alpha)
    cols = as_columns(window)
    n_all = next((int(v.shape[0]) for v in cols.values()), 0)
    if n_all > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(n_all, max_rows, replace=False))
        cols = {k: v[keep] for k, v in cols.items()}
    raw, missing = _window_raw(reference, cols)
    sq = reference.residuals(reference.encode(raw))
    per_row = sq.sum(axis=1)
    stat = float(per_row.mean())
    n = int(raw.shape[0])
    lo, hi = reconstruction_band(reference.heldout_errors, n, alpha)
    per_feature = reference.feature_errors(sq).mean(axis=0) - reference.heldout_feature_errors
    order = np.argsort(-per_feature)[:top]
    names = reference.columns
    notes = ([f"not in the window, imputed by the training mean: {', '.join(missing)}"]
             if missing else [])
    if n_all > max_rows:
        notes.append(f"tested on a random {max_rows:,} of the window's {n_all:,} rows")
    return MultivariateDriftResult(
        "reconstruction", stat, lo, hi, bool(stat < lo or stat > hi), n, alpha,
        float(reference.heldout_errors.mean()), None, int(reference.heldout_errors.size),
        tuple((names[i], float(per_feature[i])) for i in order if per_feature[i] > 0),
        time.perf_counter() - t0, tuple(notes),
    )


def _mann_whitney_z(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """AUC of ``scores`` for ``labels == 1`` and the Mann–Whitney z of AUC > 0.5 (normal
    approximation with tie and continuity correction)."""
    n1 = int(labels.sum())
    n0 = labels.size - n1
    ranks = rankdata(scores)
    u = float(ranks[labels == 1].sum() - n1 * (n1 + 1) / 2)
    auc = u / (n1 * n0)
    _, counts = np.unique(scores, return_counts=True)
    n = n1 + n0
    tie = float((counts**3 - counts).sum()) / (n * (n - 1))
    var = n1 * n0 / 12.0 * ((n + 1) - tie)
    if var <= 0:
        return auc, 0.0
    return auc, (u - n1 * n0 / 2.0 - 0.5) / math.sqrt(var)


def detect_classifier_drift(
    reference: JointReference,
    window: Any,
    *,
    p_threshold: float = 0.01,
    min_auc: float = 0.55,
    max_rows_per_side: int = 1_500,
    folds: int = 3,
    max_iter: int = 20,
    top: int = 5,
    seed: int = 0,
) -> MultivariateDriftResult:
    """Domain classifier: can a model tell the reference sample from the window?

    Drifted when the one-sided Mann–Whitney p-value of the out-of-fold AUC is below
    ``p_threshold`` *and* the AUC reaches ``min_auc`` (with big windows a tiny, harmless
    difference is significant). Each side is capped at ``max_rows_per_side`` random rows.
    The classifier is small on purpose (``max_iter`` trees of 7 leaves, 32 bins) and runs on
    one thread: the check's cost stays bounded next to the per-feature tests.
    """
    # sklearn is imported only when this check runs (it costs ~1 s at import time)
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    _check_alpha(p_threshold)
    rng = np.random.default_rng(seed)
    cols = as_columns(window)
    n_all = next((int(v.shape[0]) for v in cols.values()), 0)
    if n_all > max_rows_per_side:  # subsample before encoding: the cost stays bounded
        keep = np.sort(rng.choice(n_all, max_rows_per_side, replace=False))
        cols = {k: v[keep] for k, v in cols.items()}
    raw, missing = _window_raw(reference, cols)
    ref = reference.sample.astype(np.float64)
    if ref.shape[0] < MIN_ROWS:
        raise EmptyDataError("the joint reference sample holds fewer than "
                             f"{MIN_ROWS} rows; refit it on more reference rows")
    if ref.shape[0] > max_rows_per_side:
        ref = ref[rng.choice(ref.shape[0], max_rows_per_side, replace=False)]
    # the sample is stored as float32: round the window the same way, or the classifier
    # can tell the two sides apart by their precision alone
    cur = raw.astype(np.float32).astype(np.float64)
    x = np.concatenate([ref, cur])
    y = np.concatenate([np.zeros(ref.shape[0], np.int64), np.ones(cur.shape[0], np.int64)])
    cat_mask = np.array([c.kind == "categorical" for c in reference.encoding])
    k = max(2, min(folds, int(min(ref.shape[0], cur.shape[0]))))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    last: tuple[Any, np.ndarray] | None = None
    aucs: list[float] = []
    zs: list[float] = []
    with threadpool_limits(1):
        for train, test in splitter.split(x, y):
            model = HistGradientBoostingClassifier(
                max_iter=max_iter, learning_rate=0.1, max_leaf_nodes=7, max_bins=32,
                early_stopping=False, random_state=seed,
                categorical_features=cat_mask if cat_mask.any() else None)
            model.fit(x[train], y[train])
            fold_auc, fold_z = _mann_whitney_z(model.predict_proba(x[test])[:, 1], y[test])
            aucs.append(fold_auc)
            zs.append(fold_z)
            last = (model, test)
        auc = float(np.mean(aucs))
        # twice the median of the folds' p-values: valid whatever their dependence
        p = min(1.0, 2.0 * float(np.median(norm.sf(np.array(zs)))))
        drifted = bool(p < p_threshold and auc >= min_auc)
        top_features: tuple[tuple[str, float], ...] = ()
        if drifted and last is not None:
            top_features = _permutation_importance(last[0], x[last[1]], y[last[1]],
                                                   reference.columns, top, rng)
    n1, n0 = int(y.sum()), int(y.size - y.sum())
    crit = 0.5 + float(norm.isf(p_threshold)) * math.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))
    notes = ([f"not in the window (all null for the classifier): {', '.join(missing)}"]
             if missing else [])
    return MultivariateDriftResult(
        "classifier", float(auc), 0.5, max(crit, min_auc), drifted, n_all,
        p_threshold, 0.5, p, int(reference.sample.shape[0]), top_features,
        time.perf_counter() - t0, tuple(notes),
    )


def _permutation_importance(model: Any, x: np.ndarray, y: np.ndarray, names: list[str],
                            top: int, rng: np.random.Generator) -> tuple[tuple[str, float], ...]:
    """AUC lost when one feature is shuffled (one repeat), largest first."""
    base, _ = _mann_whitney_z(model.predict_proba(x)[:, 1], y)
    drops = np.zeros(x.shape[1])
    for j in range(x.shape[1]):
        xp = x.copy()
        xp[:, j] = xp[rng.permutation(x.shape[0]), j]
        auc, _ = _mann_whitney_z(model.predict_proba(xp)[:, 1], y)
        drops[j] = base - auc
    order = np.argsort(-drops)[:top]
    return tuple((names[i], float(drops[i])) for i in order if drops[i] > 0)
