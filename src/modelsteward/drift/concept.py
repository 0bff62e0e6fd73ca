"""Concept drift: does the model's score still track the outcome?

The feature-target relation is watched through the correlation between the model's
predictions and the outcomes that arrive later, per window, compared with the correlation
measured on the held-out split at training time. A one-sided Fisher z test asks whether a
window's correlation is lower than the reference; a drift is only called when that is
significant *and* the drop, in Fisher z units (``atanh(r_ref) - atanh(r)``, which scales
with the reference: 0.905 -> 0.85 is 0.24, 0.30 -> 0.25 is 0.05), is at least ``min_drop``.
Correlation is one signal; :mod:`modelsteward.drift.performance` watches the metrics
themselves with noise bands at each window's size.

Outcomes arrive late: a NaN outcome is a prediction whose label is not known yet. It
counts against ``coverage`` and is left out of every figure. Cutting data into windows is
the monitor's job (:mod:`modelsteward.monitor.windows`); the rule here takes row groups, or
a window's sufficient statistics (:func:`concept_result`, what the Spark source computes).

    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> rng = np.random.default_rng(0)
    >>> score = rng.normal(size=600)
    >>> outcome = score + rng.normal(size=600)            # r about 0.71
    >>> outcome[300:] = rng.normal(size=300)               # relation lost in the second half
    >>> groups = [SimpleNamespace(label=f"half {i}", start=None, end=None,
    ...                           rows=np.arange(300 * i, 300 * i + 300)) for i in range(2)]
    >>> [r.is_drifted for r in concept_drift_per_window(score, outcome, groups,
    ...                                                  reference_correlation=0.7)]
    [False, True]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from modelsteward._params import P_THRESHOLD, Interval, check_param, validate_params
from modelsteward.errors import ConfigError, DataError, EmptyDataError
from modelsteward.stats.correlation import fisher_z_drop
from modelsteward.stats.metrics import performance_metrics

__all__ = [
    "ConceptDriftResult",
    "RowGroup",
    "as_float_array",
    "checked_pair",
    "concept_drift_per_window",
    "concept_result",
    "judge_concept",
    "reference_of",
]


@dataclass(frozen=True)
class ConceptDriftResult:
    """Prediction–outcome correlation in one window against the reference.

    ``status`` is ``"ok"``, ``"drifted"`` or ``"insufficient_data"`` (fewer than
    ``min_samples`` labelled rows, or a constant prediction or outcome); figures that cannot
    be computed are ``None``, never NaN. ``drop`` is in correlation units, ``z_drop`` in
    Fisher z units (the effect size compared with ``min_drop``). ``performance`` holds every
    defined metric of the task (:func:`modelsteward.stats.metrics.performance_metrics`),
    computed on the pooled labelled rows of the window.
    """

    window_start: pd.Timestamp | None
    window_end: pd.Timestamp | None
    n: int
    coverage: float
    correlation: float | None
    reference_correlation: float
    p_value: float | None
    is_drifted: bool
    status: str
    drop: float | None = None
    n_predictions: int = 0
    reference_n: int | None = None
    p_threshold: float = 0.01
    min_drop: float = 0.1
    task: str = "regression"
    performance: dict[str, float] = field(default_factory=dict)
    label: str = ""
    reason: str = ""
    z_drop: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("window_start", "window_end"):
            value = out[key]
            out[key] = value.isoformat() if value is not None else None
        return out


def as_float_array(values: Any, name: str, *, matrix: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(
            f"{name} must be numbers ({exc}); encode labels as 0/1 or numeric values"
        ) from None
    if matrix and arr.ndim == 2 and arr.shape[1] > 2:
        pass  # multiclass class probabilities, one row per prediction
    elif matrix and arr.ndim == 2 and arr.shape[1] == 2:
        arr = arr[:, 1]  # binary predict_proba: P(class 1)
    elif arr.ndim != 1:  # a 2-D array was flattened silently, pairing the wrong values
        raise DataError(
            f"{name} must be one-dimensional (one value per row), got "
            f"{'a scalar' if arr.ndim == 0 else f'shape {arr.shape}'}"
        )
    if np.isinf(arr).any():
        raise DataError(
            f"{name} contains infinite values; replace them before checking concept drift"
        )
    return arr


def pearson(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation, or None when either side is constant or has < 3 values."""
    if x.size < 3:
        return None
    xc = x - x.mean()
    yc = y - y.mean()
    sxx = float(xc @ xc)
    syy = float(yc @ yc)
    if sxx <= 0.0 or syy <= 0.0:
        return None
    r = float(xc @ yc) / math.sqrt(sxx * syy)
    return max(-1.0, min(1.0, r))


def _pairs(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Multiclass: each row's class probabilities against its one-hot outcome, pooled."""
    if p.ndim == 1:
        return p, y
    onehot = (y[:, None] == np.arange(p.shape[1])[None, :]).astype(float)
    return p.ravel(), onehot.ravel()


def correlation_of(p: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson correlation of predictions and outcomes (multiclass: pooled one-vs-rest)."""
    return pearson(*_pairs(p, y))


def is_binary(outcomes: np.ndarray) -> bool:
    """True when every known outcome is 0 or 1."""
    known = outcomes[~np.isnan(outcomes)]
    return known.size > 0 and bool(np.isin(known, (0.0, 1.0)).all())


def window_performance(
    predictions: np.ndarray, outcomes: np.ndarray, task: str, threshold: float = 0.5
) -> dict[str, float]:
    """Performance on the pooled labelled rows of one window (never an average of averages)."""
    if predictions.shape[0] == 0:
        return {}
    return performance_metrics(_TASK.get(task, task), outcomes, predictions, threshold=threshold)


_TASK = {"numeric": "regression"}


def reference_of(
    reference_correlation: Any, reference_predictions: Any, reference_outcomes: Any
) -> tuple[float, int | None, str | None]:
    if reference_correlation is not None:
        if hasattr(reference_correlation, "correlation"):  # a baseline ConceptReference
            n = getattr(reference_correlation, "n", None)
            task = getattr(reference_correlation, "task", None)
            task = _TASK.get(task, task) if task else None
            return float(reference_correlation.correlation), (int(n) if n else None), task
        # not a ConceptReference: a correlation, one rule (a bool or "0.5" is not one)
        check_param("detect_concept_drift", "reference_correlation", reference_correlation,
                    [Interval("real", -1.0, 1.0)])
        return float(reference_correlation), None, None
    if reference_predictions is None or reference_outcomes is None:
        raise ConfigError(
            "concept drift needs a reference: pass reference_correlation (e.g. the baseline's "
            "concept.correlation) or both reference_predictions and reference_outcomes"
        )
    p, o = _aligned(reference_predictions, reference_outcomes, "reference_")
    keep = ~(np.isnan(p) if p.ndim == 1 else np.isnan(p).any(axis=1)) & ~np.isnan(o)
    r_fit = correlation_of(p[keep], o[keep])
    if r_fit is None:
        raise DataError(
            "the reference correlation is undefined (fewer than 3 labelled rows, or constant "
            "predictions or outcomes); use a larger, labelled reference split"
        )
    task = "multiclass" if p.ndim == 2 else ("binary" if is_binary(o[keep]) else "regression")
    return r_fit, int(keep.sum()), task


class RowGroup(Protocol):
    """Rows of one window (positions into the input arrays) with its label and edges:
    :class:`modelsteward.monitor.windows.Window` is one."""

    @property
    def label(self) -> str: ...
    @property
    def start(self) -> pd.Timestamp | None: ...
    @property
    def end(self) -> pd.Timestamp | None: ...
    @property
    def rows(self) -> np.ndarray: ...


def concept_result(
    *,
    n_predictions: int,
    n: int,
    correlation: float | None,
    performance: dict[str, float],
    reference_correlation: float,
    reference_n: int | None,
    task: str,
    p_threshold: float,
    min_drop: float,
    min_samples: int,
    label: str = "",
    window_start: pd.Timestamp | None = None,
    window_end: pd.Timestamp | None = None,
) -> ConceptDriftResult:
    """The rule on one window's sufficient statistics: labelled ``n``, Pearson
    ``correlation`` (None when a side is constant or n < 3) and the pooled ``performance``.

    >>> concept_result(n_predictions=100, n=80, correlation=0.2, performance={},
    ...                reference_correlation=0.7, reference_n=None, task="regression",
    ...                p_threshold=0.01, min_drop=0.1, min_samples=30).status
    'drifted'
    """
    common: dict[str, Any] = dict(
        window_start=window_start, window_end=window_end, n=n,
        coverage=float(n / n_predictions) if n_predictions else 0.0,
        reference_correlation=reference_correlation, n_predictions=n_predictions,
        reference_n=reference_n, p_threshold=p_threshold, min_drop=min_drop, task=task,
        label=label, performance=dict(performance),
    )
    if n < min_samples:
        return ConceptDriftResult(
            correlation=correlation if n >= 3 else None, p_value=None, is_drifted=False,
            status="insufficient_data",
            reason=f"{n} labelled rows < min_samples={min_samples}; no test run", **common,
        )
    if correlation is None:
        return ConceptDriftResult(
            correlation=None, p_value=None, is_drifted=False, status="insufficient_data",
            reason="predictions or outcomes are constant in this window", **common,
        )
    fz = fisher_z_drop(reference_correlation, reference_n, correlation, n)
    drifted = fz.p_value < p_threshold and fz.z_drop >= min_drop
    return ConceptDriftResult(
        correlation=correlation, p_value=fz.p_value, is_drifted=drifted,
        drop=reference_correlation - correlation, z_drop=fz.z_drop,
        status="drifted" if drifted else "ok", **common,
    )


def judge_concept(
    result: ConceptDriftResult, *, p_threshold: float, min_drop: float, min_samples: int
) -> ConceptDriftResult:
    """``result`` re-decided under other thresholds (its statistics are kept): what the
    monitor's judge step and ``steward calibrate`` do instead of measuring again.

    A result measured with a larger ``min_samples`` than asked for here lost its p-value;
    measure with the smallest ``min_samples`` of every policy to be judged (4).
    """
    return concept_result(
        n_predictions=result.n_predictions, n=result.n, correlation=result.correlation,
        performance=result.performance, reference_correlation=result.reference_correlation,
        reference_n=result.reference_n, task=result.task, p_threshold=p_threshold,
        min_drop=min_drop, min_samples=min_samples, label=result.label,
        window_start=result.window_start, window_end=result.window_end,
    )


@validate_params(
    {
        "p_threshold": P_THRESHOLD,
        "min_drop": [Interval("real", 0.0, 10.0)],
        "min_samples": [Interval("int", 4, None)],
        "reference_n": [Interval("int", 4, None), None],
    }
)
def concept_drift_per_window(
    predictions: Any,
    outcomes: Any,
    windows: Sequence[RowGroup],
    *,
    reference_correlation: Any = None,
    reference_predictions: Any = None,
    reference_outcomes: Any = None,
    p_threshold: float = 0.01,
    min_drop: float = 0.1,
    min_samples: int = 30,
    reference_n: int | None = None,
    threshold: float | None = None,
) -> list[ConceptDriftResult]:
    """One :class:`ConceptDriftResult` per row group of ``windows``, in their order.

    Drift is called when the one-sided p-value is below ``p_threshold`` *and* the drop in
    Fisher z units, ``atanh(r_ref) - atanh(r)``, is at least ``min_drop`` (its standard
    error at the window's n is ``1/sqrt(n - 3)``, plus ``1/(n_ref - 3)`` under the root with
    a reference size). Multiclass predictions are an ``n x k`` probability matrix (the
    correlation pools each class's probability against its indicator); a binary decision is
    ``score > threshold`` (default: the baseline's).

    ``reference_correlation`` may be a float or the baseline's ``ConceptReference`` (which
    also carries the reference size ``n``). With a bare float and no ``reference_n``, the
    reference is treated as exact and only the window's sampling error enters the test.
    ``p_threshold`` follows the one rule of every detector (a real number strictly between
    0 and 1), ``min_drop`` is in [0, 10] Fisher z units, ``min_samples`` and
    ``reference_n`` are integers >= 4 (the Fisher z test needs n > 3); anything else is an
    :class:`~modelsteward.errors.InvalidParameterError`.
    """
    pred, out = checked_pair(predictions, outcomes)
    r_ref, n_ref, ref_task = reference_of(
        reference_correlation, reference_predictions, reference_outcomes
    )
    if reference_n is not None:
        n_ref = int(reference_n)
    if n_ref is not None and n_ref < 4:
        raise ConfigError(f"reference size {n_ref} is too small for a Fisher z test (needs > 3)")
    if threshold is None:
        threshold = float(getattr(reference_correlation, "threshold", 0.5) or 0.5)
    task = ref_task or ("multiclass" if pred.ndim == 2 else
                        "binary" if is_binary(out) else "regression")
    results: list[ConceptDriftResult] = []
    for w in windows:
        p_w = pred[w.rows]
        o_w = out[w.rows]
        labelled = ~np.isnan(o_w)
        n = int(labelled.sum())
        p_l, o_l = p_w[labelled], o_w[labelled]
        results.append(concept_result(
            n_predictions=int(p_w.shape[0]), n=n,
            correlation=correlation_of(p_l, o_l) if n >= 3 else None,
            performance=window_performance(p_l, o_l, task, threshold) if n else {},
            reference_correlation=r_ref, reference_n=n_ref, task=task,
            p_threshold=p_threshold, min_drop=min_drop, min_samples=min_samples,
            label=w.label, window_start=w.start, window_end=w.end,
        ))
    return results


def _aligned(predictions: Any, outcomes: Any, prefix: str = "") -> tuple[np.ndarray, np.ndarray]:
    pred = as_float_array(predictions, f"{prefix}predictions", matrix=True)
    out = as_float_array(outcomes, f"{prefix}outcomes")
    if pred.shape[0] != out.size:
        raise DataError(f"{prefix}predictions has {pred.shape[0]} values but {prefix}outcomes "
                        f"has {out.size}; they must align")
    return pred, out


def checked_pair(predictions: Any, outcomes: Any) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and outcomes as aligned float arrays (typed errors for bad input)."""
    pred, out = _aligned(predictions, outcomes)
    if pred.size == 0:
        raise EmptyDataError("no predictions to check; pass at least one window of predictions")
    if np.isnan(pred).any():
        raise DataError("predictions contain NaN; every logged prediction needs a value")
    return pred, out
