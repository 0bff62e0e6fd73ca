"""Concept drift per time window: cut the rows with :mod:`~modelsteward.monitor.windows`,
then apply the rule of :mod:`modelsteward.drift.concept` to each window.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> ts = pd.date_range("2026-01-05", periods=2_000, freq="30min", tz="UTC")
    >>> score = rng.normal(size=2_000)
    >>> outcome = score + rng.normal(size=2_000)          # r about 0.71
    >>> outcome[1_400:] = rng.normal(size=600)             # relation lost in later weeks
    >>> res = detect_concept_drift(score, outcome, ts, reference_correlation=0.7)
    >>> [r.is_drifted for r in res]
    [False, False, False, False, True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modelsteward._params import P_THRESHOLD, InstanceOf, Interval, validate_params
from modelsteward.drift.concept import (
    ConceptDriftResult,
    as_float_array,
    concept_drift_per_window,
)
from modelsteward.monitor.windows import Window, WindowSpec, split_windows

__all__ = ["ConceptDriftResult", "detect_concept_drift"]


@validate_params(
    {
        "p_threshold": P_THRESHOLD,
        "min_drop": [Interval("real", 0.0, 10.0)],
        "min_samples": [Interval("int", 4, None)],
        "reference_n": [Interval("int", 4, None), None],
        "tz": [InstanceOf((str,), "a time zone name")],
    }
)
def detect_concept_drift(
    predictions: Any,
    outcomes: Any,
    timestamps: Any = None,
    *,
    reference_correlation: Any = None,
    reference_predictions: Any = None,
    reference_outcomes: Any = None,
    window: str | int | WindowSpec = "7D",
    p_threshold: float = 0.01,
    min_drop: float = 0.1,
    min_samples: int = 30,
    reference_n: int | None = None,
    tz: str = "UTC",
    windows: Sequence[Window] | None = None,
    threshold: float | None = None,
) -> list[ConceptDriftResult]:
    """One :class:`ConceptDriftResult` per window of ``window`` (calendar or rows), in time
    order; ``windows`` (pre-cut) overrides ``window``/``timestamps``. The parameters are
    those of :func:`modelsteward.drift.concept.concept_drift_per_window`.
    """
    if windows is None:
        pred = as_float_array(predictions, "predictions", matrix=True)
        windows = (split_windows(timestamps, window, tz=tz, n_rows=pred.shape[0])
                   if pred.shape[0] else [])
    return concept_drift_per_window(
        predictions, outcomes, windows, reference_correlation=reference_correlation,
        reference_predictions=reference_predictions, reference_outcomes=reference_outcomes,
        p_threshold=p_threshold, min_drop=min_drop, min_samples=min_samples,
        reference_n=reference_n, threshold=threshold,
    )
