"""The performance reference: how the model's predictions related to outcomes on held-out data.

Fitted once from the held-out (validation) split at training time and saved with the
baseline: the task (``"binary"``, ``"multiclass"`` or ``"regression"``), the decision
threshold, the class labels, the prediction-outcome correlation, every performance metric,
a sample of the held-out predictions and outcomes (at most ``max_rows``; the monitor
bootstraps it at each window's size for the noise bands) and, for classifiers, a probability
calibrator (isotonic or Platt, whichever has the lower cross-validated Brier score on the
reference) used to estimate performance before labels arrive. Saved as plain JSON numbers,
never pickle; a reference saved by an older version (correlation and metrics only) still
loads, without bands or estimation.

>>> import numpy as np
>>> ref = ConceptReference.fit(np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1]))
>>> ref.task, ref.n, round(ref.correlation, 4), ref.metrics["roc_auc"]
('binary', 4, 0.6476, 0.75)
>>> ConceptReference.from_dict(ref.to_dict()).threshold
0.5
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import expit

from modelsteward.errors import BaselineFormatError, DataError
from modelsteward.stats.metrics import performance_metrics

__all__ = ["Calibrator", "ConceptReference", "encode_outcomes", "REFERENCE_VERSION"]

#: version of the concept/performance reference inside the baseline manifest
#: (1: correlation, n, task, metrics; 2: + threshold, classes, reference sample, calibrator)
REFERENCE_VERSION = 2
_TASK_ALIASES = {"numeric": "regression"}
_CLIP = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, _CLIP, 1 - _CLIP)
    return np.asarray(np.log(q) - np.log1p(-q), dtype=float)


@dataclass(frozen=True)
class Calibrator:
    """Maps a raw score to a calibrated probability of the positive class (one class of a
    multiclass model, one-vs-rest).

    ``method`` is ``"isotonic"`` (a step function through ``x`` -> ``y``, clipped outside),
    ``"platt"`` (``sigmoid(a * logit(p) + b)``; ``a * score + b`` when scores are not
    probabilities) or ``"identity"``. ``brier`` holds each candidate's 5-fold
    cross-validated Brier score on the reference.

    >>> c = Calibrator("platt", a=1.0, b=0.0)
    >>> c.apply(np.array([0.25, 0.5])).round(3).tolist()
    [0.25, 0.5]
    """

    method: str
    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()
    a: float = 1.0
    b: float = 0.0
    on_logit: bool = True
    brier: dict[str, float] = field(default_factory=dict)

    def apply(self, scores: np.ndarray) -> np.ndarray:
        s = np.asarray(scores, dtype=float)
        if self.method == "isotonic":
            return np.asarray(np.interp(s, np.asarray(self.x), np.asarray(self.y)), dtype=float)
        if self.method == "platt":
            z = self.a * (_logit(s) if self.on_logit else s) + self.b
            return np.asarray(expit(z), dtype=float)
        return np.clip(s, 0.0, 1.0)

    @classmethod
    def fit(cls, scores: np.ndarray, hits: np.ndarray, *, seed: int = 0) -> Calibrator:
        """Fit isotonic and Platt on all rows, choose by 5-fold cross-validated Brier."""
        s = np.asarray(scores, dtype=float)
        h = np.asarray(hits, dtype=float)
        on_logit = bool(s.min() >= 0.0 and s.max() <= 1.0)
        order = np.random.default_rng(seed).permutation(s.size)
        folds = np.array_split(order, 5) if s.size >= 50 else [order]
        scores_cv: dict[str, list[float]] = {"identity": [], "isotonic": [], "platt": []}
        for test in folds:
            train = np.setdiff1d(order, test) if len(folds) > 1 else order
            if np.unique(h[train]).size < 2:
                continue
            for method in ("isotonic", "platt"):
                cal = cls._fit_one(method, s[train], h[train], on_logit)
                scores_cv[method].append(float(np.mean((cal.apply(s[test]) - h[test]) ** 2)))
            if on_logit:
                scores_cv["identity"].append(float(np.mean((s[test] - h[test]) ** 2)))
        brier = {k: float(np.mean(v)) for k, v in scores_cv.items() if v}
        if not brier:
            return cls("identity" if on_logit else "platt", on_logit=on_logit)
        best = min(("isotonic", "platt"), key=lambda k: brier.get(k, math.inf))
        if np.unique(h).size < 2:
            return cls("identity", on_logit=on_logit, brier=brier)
        fitted = cls._fit_one(best, s, h, on_logit)
        return cls(fitted.method, fitted.x, fitted.y, fitted.a, fitted.b, on_logit, brier)

    @classmethod
    def _fit_one(cls, method: str, s: np.ndarray, h: np.ndarray, on_logit: bool) -> Calibrator:
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression  # sklearn only when fitting

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, h)
            return cls("isotonic", tuple(float(v) for v in iso.X_thresholds_),
                       tuple(float(v) for v in iso.y_thresholds_))
        from sklearn.linear_model import LogisticRegression  # sklearn only when fitting

        z = (_logit(s) if on_logit else s).reshape(-1, 1)
        lr = LogisticRegression(C=1e6, max_iter=1_000).fit(z, h.astype(int))
        return cls("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]),
                   on_logit=on_logit)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": list(self.x), "y": list(self.y), "a": self.a,
                "b": self.b, "on_logit": self.on_logit, "brier": dict(self.brier)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        method = str(d.get("method"))
        if method not in ("isotonic", "platt", "identity"):
            raise BaselineFormatError(f"calibrator method {method!r} is unknown; refit the "
                                      "baseline")
        x = tuple(float(v) for v in d.get("x", ()))
        y = tuple(float(v) for v in d.get("y", ()))
        if method == "isotonic" and (len(x) != len(y) or not x):
            raise BaselineFormatError("isotonic calibrator needs knots x and y of one length")
        return cls(method, x, y, float(d.get("a", 1.0)), float(d.get("b", 0.0)),
                   bool(d.get("on_logit", True)),
                   {str(k): float(v) for k, v in (d.get("brier") or {}).items()})


def calibrate(calibrators: tuple[Calibrator, ...], scores: np.ndarray) -> np.ndarray:
    """Calibrated probabilities: binary (1-D scores, one calibrator) or multiclass (n x k,
    one calibrator per class, rows renormalised to sum to 1)."""
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        return calibrators[0].apply(s)
    cal = np.column_stack([c.apply(s[:, j]) for j, c in enumerate(calibrators)])
    total = cal.sum(axis=1, keepdims=True)
    return np.where(total > 0, cal / np.where(total > 0, total, 1.0), 1.0 / s.shape[1])


def encode_outcomes(outcomes: Any, classes: tuple[str, ...] | None) -> np.ndarray:
    """Outcomes as floats (NaN unknown): numbers as they are, booleans as 0/1, text through
    ``classes`` (its index). Text that is not a class is a :class:`DataError`.

    >>> encode_outcomes(["no", "yes", None], ("no", "yes")).tolist()
    [0.0, 1.0, nan]
    """
    arr = np.asarray(outcomes, dtype=object).ravel()
    try:
        return np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        pass
    out = np.full(arr.size, np.nan)
    index = {c: i for i, c in enumerate(classes or ())}
    unknown: set[str] = set()
    for i, v in enumerate(arr.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (bool, np.bool_)):
            out[i] = float(v)
        elif isinstance(v, (int, float, np.integer, np.floating)):
            out[i] = float(v)
        elif str(v) in index:
            out[i] = float(index[str(v)])
        else:
            unknown.add(str(v))
    if unknown:
        shown = ", ".join(repr(u) for u in sorted(unknown)[:5])
        raise DataError(f"outcomes {shown} are not among the model's classes "
                        f"{list(classes or ())}; pass classes= in the model's order")
    return out


def _b64(arr: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype="<f8").tobytes()).decode("ascii")


def _unb64(text: str) -> np.ndarray:
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError):
        raise ValueError("not base64") from None
    return np.frombuffer(raw, dtype="<f8").astype(np.float64)


def _text_classes(outcomes: Any) -> tuple[str, ...] | None:
    arr = np.asarray(outcomes, dtype=object).ravel()
    texts = {str(v) for v in arr.tolist() if isinstance(v, str)}
    return tuple(sorted(texts)) if texts else None


@dataclass(frozen=True)
class ConceptReference:
    """Prediction-outcome correlation (Pearson; multiclass: pooled over the one-vs-rest
    probability/indicator pairs) on the reference split, its size, the task, performance
    metrics and, from version 2, what the noise bands and the estimation need."""

    correlation: float
    n: int
    task: str
    metrics: dict[str, float] = field(default_factory=dict)
    threshold: float = 0.5
    classes: tuple[str, ...] | None = None
    predictions: np.ndarray | None = field(default=None, compare=False, repr=False)
    outcomes: np.ndarray | None = field(default=None, compare=False, repr=False)
    calibrators: tuple[Calibrator, ...] = field(default=(), compare=False, repr=False)
    version: int = REFERENCE_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "task", _TASK_ALIASES.get(self.task, self.task))

    @property
    def n_classes(self) -> int:
        if self.task == "multiclass" and self.predictions is not None:
            return int(self.predictions.shape[1])
        return len(self.classes) if self.classes else (2 if self.task == "binary" else 0)

    @property
    def has_sample(self) -> bool:
        """True when held-out predictions and outcomes are stored (bands are possible)."""
        return self.predictions is not None and self.outcomes is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "correlation": self.correlation,
            "n": self.n,
            "task": self.task,
            "metrics": dict(self.metrics),
            "version": self.version,
            "threshold": self.threshold,
            "classes": list(self.classes) if self.classes is not None else None,
        }
        if self.predictions is not None and self.outcomes is not None:
            # little-endian float64 bytes in base64: exact, one JSON string, never pickle
            out["reference_sample"] = {
                "encoding": "base64 float64 little-endian",
                "predictions_shape": list(self.predictions.shape),
                "predictions": _b64(self.predictions),
                "outcomes": _b64(self.outcomes),
            }
        out["calibrators"] = [c.to_dict() for c in self.calibrators]
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConceptReference:
        task = str(d["task"])
        task = _TASK_ALIASES.get(task, task)
        preds = outs = None
        sample = d.get("reference_sample")
        if sample is not None:
            try:
                shape = tuple(int(v) for v in sample["predictions_shape"])
                preds = _unb64(sample["predictions"]).reshape(shape)
                outs = _unb64(sample["outcomes"])
            except (KeyError, TypeError, ValueError):
                raise BaselineFormatError("the concept reference's stored predictions or "
                                          "outcomes are not numbers; refit the baseline") from None
            if preds.shape[0] != outs.shape[0] or outs.ndim != 1 or preds.ndim not in (1, 2):
                raise BaselineFormatError("the concept reference's stored predictions and "
                                          "outcomes do not align; refit the baseline")
        classes = d.get("classes")
        return cls(
            float(d["correlation"]),
            int(d["n"]),
            task,
            {str(k): float(v) for k, v in d.get("metrics", {}).items()},
            threshold=float(d.get("threshold", 0.5)),
            classes=tuple(str(c) for c in classes) if classes else None,
            predictions=preds,
            outcomes=outs,
            calibrators=tuple(Calibrator.from_dict(c) for c in d.get("calibrators") or ()),
            version=int(d.get("version", 1)),
        )

    @classmethod
    def fit(cls, predictions: Any, outcomes: Any, *, classes: Any = None,
            threshold: float = 0.5, task: str | None = None, max_rows: int = 20_000,
            seed: int = 0) -> ConceptReference:
        """Fit from the held-out split (pairs with a missing side are dropped).

        ``predictions``: P(class 1) for a binary classifier (an ``n x 2`` matrix is read as
        its second column), an ``n x k`` probability matrix for ``k > 2`` classes, or the
        predicted values of a regression. ``outcomes``: numbers, booleans, or class labels
        (text) mapped through ``classes`` (default: the sorted distinct labels, as
        scikit-learn orders ``classes_``; a binary score is then P(``classes[1]``)). A binary
        decision is ``score > threshold``. At most ``max_rows`` pairs (a seeded random
        sample) are stored for the bands.
        """
        if classes is not None:
            classes = tuple(str(c) for c in classes)
        else:
            classes = _text_classes(outcomes)
        try:
            p = np.asarray(predictions, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError("predictions must be numbers (scores, probabilities or values)"
                            ) from None
        y = encode_outcomes(outcomes, classes)
        if p.ndim == 2 and p.shape[1] == 2 and task != "multiclass":
            p = p[:, 1]
        if p.ndim not in (1, 2) or p.shape[0] != y.size:
            raise DataError(
                f"predictions ({p.shape[0] if p.ndim else 1} rows) and outcomes ({y.size}) "
                "must have the same length"
            )
        keep = np.isfinite(y) & (np.isfinite(p) if p.ndim == 1 else np.isfinite(p).all(axis=1))
        p, y = p[keep], y[keep]
        if y.size < 4:
            raise DataError("a concept reference needs at least 4 prediction-outcome pairs")
        if task is None:
            if p.ndim == 2:
                task = "multiclass"
            elif np.isin(y, (0.0, 1.0)).all():
                task = "binary"
            else:
                task = "regression"
        task = _TASK_ALIASES.get(task, task)
        if task == "multiclass":
            if p.ndim != 2:
                raise DataError("a multiclass reference needs an n x k matrix of class "
                                "probabilities (predict_proba)")
            k = p.shape[1]
            if classes is not None and len(classes) != k:
                raise DataError(f"{len(classes)} classes but {k} probability columns")
            if not np.isin(y, np.arange(k)).all():
                raise DataError(f"multiclass outcomes must be class indices 0..{k - 1} or "
                                "the class labels")
            onehot = (y[:, None] == np.arange(k)[None, :]).astype(float)
            flat_p, flat_y = p.ravel(), onehot.ravel()
        else:
            if p.ndim != 1:
                raise DataError("predictions must be one value per row for a binary or "
                                "regression model")
            if task == "binary" and not np.isin(y, (0.0, 1.0)).all():
                raise DataError("binary outcomes must be 0/1, booleans or one of two classes")
            flat_p, flat_y = p, y
        if flat_p.std() == 0 or flat_y.std() == 0:
            raise DataError(
                "predictions or outcomes are constant on the reference split, so their "
                "correlation is undefined; check the model and the held-out labels"
            )
        r = float(np.clip(np.corrcoef(flat_p, flat_y)[0, 1], -1.0, 1.0))
        metrics = performance_metrics(task, y, p, threshold=threshold,
                                      n_classes=p.shape[1] if p.ndim == 2 else None)
        calibrators: tuple[Calibrator, ...] = ()
        fit_rows = np.arange(y.size)  # calibrators on at most 200,000 rows (seeded sample)
        if y.size > 200_000:
            fit_rows = np.random.default_rng(seed + 1).choice(y.size, 200_000, replace=False)
        pc, yc = p[fit_rows], y[fit_rows]
        if task == "binary":
            calibrators = (Calibrator.fit(pc, yc, seed=seed),)
        elif task == "multiclass":
            calibrators = tuple(Calibrator.fit(pc[:, j], (yc == j).astype(float), seed=seed)
                                for j in range(p.shape[1]))
        sample = np.arange(y.size)
        if y.size > max_rows:
            sample = np.sort(np.random.default_rng(seed).choice(y.size, max_rows, replace=False))
        return cls(
            correlation=r, n=int(y.size), task=task, metrics=metrics, threshold=float(threshold),
            classes=classes, predictions=p[sample].copy(), outcomes=y[sample].copy(),
            calibrators=calibrators,
        )
