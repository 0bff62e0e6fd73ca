"""Task detection, evaluation metrics and feature importance for a fitted model.

>>> import numpy as np
>>> m = evaluation_metrics(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]),
...                        np.array([.1, .9, .4, .2]), "binary")
>>> round(m["f1"], 3), m["roc_auc"]
(0.667, 1.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

# scikit-learn is imported inside the functions that use it, so that importing this module
# (and `import modelsteward`) stays cheap.

__all__ = ["evaluation_metrics", "feature_importance", "predict_with_scores", "task_of"]


def task_of(model: Any, y: np.ndarray) -> str:
    """``"binary"``, ``"multiclass"`` or ``"regression"``."""
    try:
        from sklearn.base import is_classifier

        classifier = bool(is_classifier(model))
    except Exception:  # noqa: BLE001 - not a scikit-learn estimator
        classifier = False
    if not classifier and hasattr(model, "predict_proba"):
        classifier = True
    if not classifier and not np.issubdtype(np.asarray(y).dtype, np.number):
        classifier = True
    if not classifier:
        return "regression"
    classes = getattr(model, "classes_", None)
    n = len(classes) if classes is not None else len(np.unique(y))
    return "binary" if n <= 2 else "multiclass"


def predict_with_scores(model: Any, X: Any, task: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Predictions, and scores when the model has them (binary: P(positive class))."""
    y_pred = np.asarray(model.predict(X))
    if task == "regression":
        return y_pred, None
    scores: np.ndarray | None = None
    if hasattr(model, "predict_proba"):
        try:
            proba = np.asarray(model.predict_proba(X), dtype=float)
            scores = proba[:, 1] if task == "binary" and proba.ndim == 2 else proba
        except (AttributeError, NotImplementedError, ValueError):
            scores = None
    elif hasattr(model, "decision_function"):
        try:
            scores = np.asarray(model.decision_function(X), dtype=float)
        except (AttributeError, NotImplementedError, ValueError):
            scores = None
    return y_pred, scores


def evaluation_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, scores: np.ndarray | None, task: str
) -> dict[str, float]:
    """Classification: f1, precision, recall, accuracy, roc_auc (when scores exist and both
    classes occur). Regression: rmse, mae, r2. Never NaN: undefined metrics are left out."""
    from sklearn import metrics as skm

    out: dict[str, float] = {}
    if len(y_true) == 0:
        return out
    if task == "regression":
        yt = np.asarray(y_true, dtype=float)
        yp = np.asarray(y_pred, dtype=float)
        out["rmse"] = float(np.sqrt(np.mean((yt - yp) ** 2)))
        out["mae"] = float(np.mean(np.abs(yt - yp)))
        if len(yt) > 1 and float(np.var(yt)) > 0:
            out["r2"] = float(skm.r2_score(yt, yp))
        return out
    average = "binary" if task == "binary" else "weighted"
    kwargs: dict[str, Any] = {"average": average, "zero_division": 0}
    if task == "binary":
        labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
        if len(labels) == 2:
            kwargs["pos_label"] = labels.max()
        elif len(labels) == 1 and labels[0] not in (1, True):
            kwargs["average"] = "weighted"
    out["f1"] = float(skm.f1_score(y_true, y_pred, **kwargs))
    out["precision"] = float(skm.precision_score(y_true, y_pred, **kwargs))
    out["recall"] = float(skm.recall_score(y_true, y_pred, **kwargs))
    out["accuracy"] = float(skm.accuracy_score(y_true, y_pred))
    if scores is not None and len(np.unique(y_true)) >= 2:
        try:
            if task == "binary":
                auc = skm.roc_auc_score(y_true, scores)
            else:
                auc = skm.roc_auc_score(y_true, scores, multi_class="ovr", average="weighted")
            if np.isfinite(auc):
                out["roc_auc"] = float(auc)
        except ValueError:
            pass
    return {k: v for k, v in out.items() if np.isfinite(v)}


def feature_importance(model: Any, feature_names: list[str]) -> dict[str, Any] | None:
    """``feature_importances_`` (trees) or mean |coef_| (linear), by feature name; None when
    the model has neither or their length does not match the features (e.g. a pipeline that
    expands columns)."""
    final = model
    steps = getattr(model, "steps", None)
    if steps:
        final = steps[-1][1]
    kind = None
    values: np.ndarray | None = None
    if hasattr(final, "feature_importances_"):
        kind, values = "feature_importances_", np.asarray(final.feature_importances_, dtype=float)
    elif hasattr(final, "coef_"):
        coef = np.asarray(final.coef_, dtype=float)
        kind = "abs_coef"
        values = np.abs(coef) if coef.ndim == 1 else np.abs(coef).mean(axis=0)
    if values is None or values.ndim != 1:
        return None
    names = feature_names if len(feature_names) == len(values) else [
        f"feature_{i}" for i in range(len(values))
    ]
    return {"kind": kind, "importance": dict(zip(names, values.tolist(), strict=True))}
