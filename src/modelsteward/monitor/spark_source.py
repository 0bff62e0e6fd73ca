"""The Spark window source: per-window sketch summaries computed on Spark, measured on the
driver and run through the same judge → alerts → sinks → report pipeline as every source.

Windows are one calendar week, day or hour in ``tz`` (``"7D"``/``"W"``, ``"1D"``, ``"1h"``);
edges and labels are those of :func:`~modelsteward.monitor.windows.split_windows`, empty
windows in between are kept. Features are compared with the baseline in sketch mode (each
figure carries its bound: ``FeatureCheck.mode == "sketch"``, ``statistic_bound``,
``psi_bound``); concept drift comes from Spark aggregates (Pearson r; ROC AUC and F1, or MAE
and RMSE, on the pooled labelled rows of each window). What the pandas source does and this
one does not: row cleaning (rows are taken as they are), the joint checks (fit and run them on
a sample), ``model_versions`` per window, the extra measurements of
:data:`~modelsteward.monitor.measure.MEASURES` (they read rows). With a state store, a run
checks the closed windows not checked before; the clock is the last timestamp seen.

    from modelsteward import run_monitor
    source = SparkSource(spark.read.parquet("prod/"), baseline, timestamp_col="ts",
                         prediction_col="score", outcome_col="label")
    report = run_monitor("churn_model", None, baseline=baseline, source=source)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.baseline.sketch import DEFAULT_K, SketchProfile
from modelsteward.drift.concept import ConceptDriftResult, concept_result, window_performance
from modelsteward.drift.performance import WindowPerformance
from modelsteward.errors import ConfigError
from modelsteward.monitor import performance_checks
from modelsteward.monitor.bins import sketch_bins
from modelsteward.monitor.measure import (
    WindowMeasurement,
    measure_degradation,
    measure_features,
)
from modelsteward.monitor.policy import Policy
from modelsteward.monitor.sources import CONCEPT_MIN_SAMPLES
from modelsteward.monitor.windows import Window, parse_window, split_windows
from modelsteward.spark import WindowSummaries, summarize_windows

__all__ = ["PERFORMANCE_SAMPLE", "SparkSource"]

#: (prediction, outcome) rows per window brought to the driver for performance with bands
PERFORMANCE_SAMPLE = 200_000


def _key(w: Window) -> int:
    assert w.start is not None
    return int(w.start.value // 1000)


class SparkSource:
    """Production rows in a Spark DataFrame, summarised per calendar window on Spark.

    The summaries are computed when the source is built (one pass of jobs); ``measure`` then
    only works on them.
    """

    def __init__(self, df: Any, baseline: Any, *, timestamp_col: str = "timestamp",
                 window: str = "7D", tz: str = "UTC", prediction_col: str | None = None,
                 outcome_col: str | None = None, k: int = DEFAULT_K,
                 performance_sample: int = PERFORMANCE_SAMPLE) -> None:
        spec = self.spec = parse_window(window)
        self.tz = tz
        self._sample_size = performance_sample
        if spec.unit == "rows" or spec.count != 1:
            raise ConfigError(
                f"window={window!r}: on Spark, windows are one calendar week, day or hour "
                "('7D', '1D', '1h'); row-count and multi-unit windows need the pandas source"
            )
        if outcome_col and not prediction_col:
            raise ConfigError("outcome_col needs prediction_col (concept drift compares the two)")
        self.warnings: list[str] = []
        self.unplaced: dict[str, int] = {}
        self._concept_ok = bool(prediction_col and outcome_col)
        if self._concept_ok and getattr(baseline, "concept", None) is None:
            raise ConfigError(
                "concept drift needs the baseline's concept reference; fit the baseline with "
                "predictions and outcomes (or predictions_col/outcomes_col)"
            )
        if not self._concept_ok:
            self.warnings.append("no outcomes in the data: concept drift not checked")
        if getattr(baseline, "joint", None) is not None:
            self.warnings.append("the joint checks do not run on the Spark source; run them on "
                                 "a sample of the window with the pandas source")
        features = [n for n in baseline.feature_names if n in df.columns]
        kinds = {n: baseline.columns[n].kind for n in features}
        task = getattr(getattr(baseline, "concept", None), "task", None)
        self.summaries: WindowSummaries = summarize_windows(
            df, kinds, timestamp_col=timestamp_col, unit=spec.unit, tz=tz,
            prediction_col=prediction_col if self._concept_ok else None,
            outcome_col=outcome_col if self._concept_ok else None,
            binary=None if task is None else task == "binary", k=k,
            sample_per_window=performance_sample if task in ("binary", "regression") else 0)
        keys = sorted({*self.summaries.profiles, *self.summaries.concept})
        if keys:
            starts = pd.to_datetime(keys, unit="us", utc=True).tz_convert(tz)
            self.windows = [Window(w.index, w.label, w.start, w.end, np.empty(0, dtype=np.int64))
                            for w in split_windows(starts, spec, tz=tz)]
        else:
            self.windows = []

    @property
    def last_time(self) -> pd.Timestamp | None:
        return self.summaries.last

    def _profile(self, w: Window) -> SketchProfile | None:
        return self.summaries.profiles.get(_key(w))

    def n_usable(self, w: Window) -> int:
        prof = self._profile(w)
        return int(prof.n_rows) if prof is not None else 0

    def concepts(self, windows: Sequence[Window], baseline: Any,
                 notes: list[str]) -> dict[int, ConceptDriftResult]:
        if not self._concept_ok:
            return {}
        ref = baseline.concept
        out: dict[int, ConceptDriftResult] = {}
        for w in windows:
            row = self.summaries.concept.get(_key(w))
            n = int(row["n"]) if row is not None else 0
            n_pred = int(row["n_pred"]) if row is not None else 0
            task = getattr(ref, "task", None) or (
                "binary" if row is not None and row["binary"] else "regression")
            perf: dict[str, float] = {}
            rows = self._window_sample(w, n_pred)
            if rows is not None and n:  # every row of the window is on the driver: pooled
                labelled = rows[rows["outcome"].notna()]
                perf = window_performance(labelled["prediction"].to_numpy(),
                                          labelled["outcome"].to_numpy(), task,
                                          float(getattr(ref, "threshold", 0.5) or 0.5))
            elif row is not None and n:  # Spark aggregates
                if task == "binary":
                    auc = self.summaries.roc_auc.get(_key(w))
                    if auc is not None:
                        perf["roc_auc"] = auc
                    denom = float(row["hard_sum"] + row["y_sum"])
                    perf["f1"] = float(2 * row["tp"] / denom) if denom else 0.0
                else:
                    perf["mae"] = float(row["abs_err"] / n)
                    perf["rmse"] = float(math.sqrt(row["sq_err"] / n))
            constant = row is None or not (row["p_sd"] and row["o_sd"]) or n < 3
            r = row["r"] if row is not None else None
            r = None if constant or r is None or not math.isfinite(r) else float(r)
            out[w.index] = concept_result(
                n_predictions=n_pred, n=n, correlation=r, performance=perf,
                reference_correlation=float(ref.correlation),
                reference_n=int(ref.n) if getattr(ref, "n", None) else None, task=task,
                p_threshold=0.01, min_drop=0.1, min_samples=CONCEPT_MIN_SAMPLES,
                label=w.label, window_start=w.start, window_end=w.end)
        return out

    def _window_sample(self, w: Window, n_pred: int) -> pd.DataFrame | None:
        """The window's (prediction, outcome) rows when all ``n_pred`` of them were brought
        to the driver, else None."""
        sample = self.summaries.predictions
        if sample is None or self.summaries.sampled:
            return None
        rows = sample[sample["window_key"].to_numpy() == _key(w)]
        return rows if len(rows) == n_pred else None

    def performance(self, windows: Sequence[Window], baseline: Any, policy: Policy,
                    notes: list[str]) -> dict[int, WindowPerformance]:
        """Realized and estimated performance per window, measured on the (prediction,
        outcome) rows Spark sampled per window: all of them up to ``performance_sample`` rows,
        else a random sample of that size, with the bands at the sample's size."""
        sample = self.summaries.predictions
        if sample is None or not windows:
            if self._concept_ok and getattr(baseline.concept, "task", None) == "multiclass":
                notes.append("multiclass performance is not measured on the Spark source yet; "
                             "use a frame or the prediction log")
            return {}
        if self.summaries.sampled:
            notes.append(f"performance measured on a random sample of at most "
                         f"{self._sample_size:,} rows per window (bands at the "
                         "sample's size)")
        keys = sample["window_key"].to_numpy()
        groups = [replace(w, rows=np.flatnonzero(keys == _key(w))) for w in windows]
        return performance_checks.measure(sample, groups, baseline, policy, notes=notes)

    def measure(self, w: Window, baseline: Any, policies: Sequence[Policy],
                concept: ConceptDriftResult | None) -> WindowMeasurement:
        prof = self._profile(w)
        n = int(prof.n_rows) if prof is not None else 0
        common: dict[str, Any] = dict(index=w.index, label=w.label, start=w.start, end=w.end,
                                      n_rows=n, concept=concept)
        if prof is None or n == 0 or n < min(int(p.value("min_window_rows")) for p in policies):
            return WindowMeasurement(measured=False, **common)
        present = [f for f in baseline.feature_names if f in prof.columns]
        nulls = {f: int(prof.columns[f].n_null) for f in present}
        features = measure_features(
            baseline, prof, present, nulls, n,
            lambda name, profile: sketch_bins(profile, prof.columns[name]),
            p_threshold=float(policies[0].value("ks_p_value")), mode="sketch")
        degradation = measure_degradation(baseline, prof, policies, mode="sketch")
        return WindowMeasurement(features=features, degradation=degradation, **common)
