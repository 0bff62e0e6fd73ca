"""Performance estimated before the labels arrive: confidence-based performance estimation.

A classifier's calibrated probability ``q`` of the positive class is, if the relation between
inputs and outcome has not changed, the chance that the row *is* positive. So the expected
confusion matrix of a window follows from its predictions alone: a row predicted positive
adds ``q`` to the expected true positives and ``1 - q`` to the false positives; a row
predicted negative adds ``q`` to the false negatives and ``1 - q`` to the true negatives.
F1, precision, recall and accuracy follow from the expected counts; ROC AUC is the expected
number of (positive, negative) pairs ranked in the right order over the expected number of
pairs. This is NannyML's CBPE (confidence-based performance estimation; NannyML
documentation, "Estimation of Performance of the Monitored Model", CBPE, 2022). Multiclass
models are estimated one-vs-rest (macro F1 from per-class expected counts, accuracy as the
mean calibrated probability of the predicted class).

The probabilities are calibrated on the reference split first (isotonic or Platt, whichever
had the lower cross-validated Brier score there; :class:`~modelsteward.baseline.concept.
Calibrator`). The estimate assumes the concept has not changed: it follows covariate shift
(inputs moving into regions where the model is less sure) and cannot see concept drift —
which is what makes the diagnosis in :mod:`modelsteward.drift.performance` possible.

Regression has no label-free estimate here, so regression windows show realized performance
only and a regression drop is not diagnosed. We tried the estimate the stored reference pairs
allow - expected absolute error given the prediction (the reference's mean ``|y - p|`` in 20
prediction-quantile bins), averaged over a window's predictions - and it does not work: it
follows a shift only when the error depends on the predicted value. When the inputs move
into a region that is harder for a reason the prediction does not show (in
``benchmarks/performance_monitoring.py``, noise growing with an input the model does not
use), the predictions' distribution is unchanged, the estimate stays at the reference MAE
and the drop would be called concept drift: 0/6 estimated and 6/6 covariate windows
misdiagnosed there. An estimate that works needs the features with the reference residuals
(NannyML's DLE), which the baseline does not store.

>>> import numpy as np
>>> q = np.array([0.9, 0.8, 0.2, 0.1])
>>> m = estimate_binary(q, q, threshold=0.5)
>>> round(m["accuracy"], 3), round(m["f1"], 3), round(m["roc_auc"], 3)
(0.85, 0.85, 0.929)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelsteward.baseline.concept import calibrate

__all__ = ["ESTIMABLE", "estimate_binary", "estimate_multiclass", "estimate_performance"]

#: metrics with a label-free estimate, per task
ESTIMABLE: dict[str, frozenset[str]] = {
    "binary": frozenset({"roc_auc", "f1", "precision", "recall", "accuracy", "log_loss",
                         "brier"}),
    "multiclass": frozenset({"macro_auc", "macro_f1", "accuracy"}),
    "regression": frozenset(),
}


def _expected_auc(scores: np.ndarray, q: np.ndarray) -> float | None:
    """E[pairs ranked right] / E[pairs], ties counted half; None when there are no pairs."""
    order = np.argsort(scores, kind="stable")
    s, qs = scores[order], q[order]
    neg = 1.0 - qs
    # negatives strictly below each row, and equal-score negatives other than itself
    uniq, start, counts = np.unique(s, return_index=True, return_counts=True)
    cum_neg = np.concatenate([[0.0], np.cumsum(neg)])
    group_neg = np.add.reduceat(neg, start) if s.size else np.array([])
    below = np.repeat(cum_neg[start], counts)
    tied = np.repeat(group_neg, counts) - neg
    right = float(np.sum(qs * (below + 0.5 * tied)))
    pairs = float(qs.sum() * neg.sum() - np.sum(qs * neg))
    return right / pairs if pairs > 1e-12 else None


def _f1(tp: float, fp: float, fn: float) -> float:
    return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn > 0 else 0.0


def estimate_binary(scores: np.ndarray, q: np.ndarray, *, threshold: float) -> dict[str, float]:
    """Expected metrics from raw ``scores`` (the decision) and calibrated ``q``."""
    s = np.asarray(scores, dtype=float)
    q = np.clip(np.asarray(q, dtype=float), 0.0, 1.0)
    if s.size == 0:
        return {}
    hard = s > threshold
    tp = float(q[hard].sum())
    fp = float((1 - q[hard]).sum())
    fn = float(q[~hard].sum())
    out = {
        "accuracy": float(np.mean(np.where(hard, q, 1 - q))),
        "precision": tp / (tp + fp) if tp + fp > 0 else 0.0,
        "recall": tp / (tp + fn) if tp + fn > 0 else 0.0,
        "f1": _f1(tp, fp, fn),
    }
    auc = _expected_auc(s, q)
    if auc is not None:
        out["roc_auc"] = auc
    if s.min() >= 0.0 and s.max() <= 1.0:
        pc = np.clip(s, 1e-15, 1 - 1e-15)
        out["log_loss"] = float(-np.mean(q * np.log(pc) + (1 - q) * np.log1p(-pc)))
        out["brier"] = float(np.mean(q * (1 - s) ** 2 + (1 - q) * s**2))
    return out


def estimate_multiclass(proba: np.ndarray, q: np.ndarray) -> dict[str, float]:
    """Expected metrics from raw class probabilities (the decision: argmax) and calibrated
    ``q`` (rows sum to 1)."""
    p = np.asarray(proba, dtype=float)
    if p.shape[0] == 0:
        return {}
    k = p.shape[1]
    hard = p.argmax(axis=1)
    rows = np.arange(p.shape[0])
    out: dict[str, float] = {"accuracy": float(np.mean(q[rows, hard]))}
    f1s, aucs = [], []
    for c in range(k):
        pred_c = hard == c
        tp = float(q[pred_c, c].sum())
        f1s.append(_f1(tp, float((1 - q[pred_c, c]).sum()), float(q[~pred_c, c].sum())))
        auc = _expected_auc(p[:, c], q[:, c])
        if auc is not None:
            out[f"auc[{c}]"] = auc
            aucs.append(auc)
    out["macro_f1"] = float(np.mean(f1s))
    if aucs:
        out["macro_auc"] = float(np.mean(aucs))
    return out


def estimate_performance(reference: Any, predictions: np.ndarray) -> dict[str, float]:
    """Estimated metrics of one window from its predictions alone (``{}`` for regression or
    a reference without calibrators, e.g. a version-1 baseline)."""
    cals = getattr(reference, "calibrators", ())
    task = getattr(reference, "task", None)
    p = np.asarray(predictions, dtype=float)
    if not cals or task not in ("binary", "multiclass") or p.shape[0] == 0:
        return {}
    if task == "binary":
        p = p if p.ndim == 1 else p[:, -1]
        return estimate_binary(p, calibrate(cals, p), threshold=float(reference.threshold))
    return estimate_multiclass(p, calibrate(cals, p))
