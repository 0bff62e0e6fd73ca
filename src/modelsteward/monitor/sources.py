"""Window sources: where the monitor's windows and their measurements come from.

A source cuts its data into :class:`~modelsteward.monitor.windows.Window` s and measures a
window on request (:class:`WindowSource`); the monitor runs every source through the same
measure → judge → alerts → sinks → report pipeline. Three sources:

* :class:`FrameSource` — a DataFrame, CSV/Parquet files or globs (read by
  :func:`~modelsteward.monitor.data.read_production`), cleaned row by row;
* the prediction log (a ``sqlite://``/``postgresql://`` URL): a :class:`FrameSource` whose
  ``is_log`` is set, so an incremental run's clock is the wall clock;
* :class:`modelsteward.spark.SparkSource` — per-window sketch summaries computed on Spark.

    >>> import numpy as np, pandas as pd
    >>> from modelsteward.baseline import Baseline
    >>> base = Baseline.fit({"x": np.arange(100.0)})
    >>> src = FrameSource.prepare(pd.DataFrame({"x": np.arange(30.0)}), "m", base,
    ...                           window=10)
    >>> [(w.label, src.n_usable(w)) for w in src.windows]
    [('rows 0-9', 10), ('rows 10-19', 10), ('rows 20-29', 10)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd

from modelsteward.drift.concept import ConceptDriftResult, concept_drift_per_window
from modelsteward.drift.performance import Bands, WindowPerformance
from modelsteward.errors import DataError, EmptyDataError
from modelsteward.monitor import performance_checks
from modelsteward.monitor.data import attach_outcomes, is_log_url, read_production
from modelsteward.monitor.measure import WindowMeasurement, measure_window
from modelsteward.monitor.policy import Policy
from modelsteward.monitor.rows import FEATURE_REASONS, clean_rows, count_reasons, skip_notes
from modelsteward.monitor.windows import Window, WindowSpec, parse_window, split_windows
from modelsteward.monitor.windows import to_utc_timestamps as to_utc

__all__ = ["FrameSource", "WindowSource", "time_filter", "utc"]


class WindowSource(Protocol):
    """What the monitor pipeline needs from a source of production data."""

    @property
    def spec(self) -> WindowSpec: ...
    @property
    def tz(self) -> str: ...
    @property
    def windows(self) -> list[Window]: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def unplaced(self) -> dict[str, int]: ...
    @property
    def last_time(self) -> pd.Timestamp | None: ...  # the clock of an incremental run

    def n_usable(self, w: Window) -> int: ...

    def concepts(self, windows: Sequence[Window], baseline: Any,
                 notes: list[str]) -> dict[int, ConceptDriftResult]: ...

    def performance(self, windows: Sequence[Window], baseline: Any, policy: Policy,
                    notes: list[str]) -> dict[int, WindowPerformance]: ...

    def measure(self, w: Window, baseline: Any, policies: Sequence[Policy],
                concept: ConceptDriftResult | None) -> WindowMeasurement: ...


def utc(value: Any, name: str = "") -> pd.Timestamp:
    """A time given by a user (ISO 8601 or a Timestamp; naive is UTC), in UTC; ``name`` is
    the argument it came in (for the error)."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        shown = f"{name}={value!r}" if name else repr(value)
        raise DataError(f"cannot read {shown} as a time; use ISO 8601") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def time_filter(frame: pd.DataFrame, column: str, since: Any, until: Any) -> np.ndarray:
    """Which rows have ``since <= timestamp < until`` (naive bounds are UTC)."""
    ts = to_utc(frame[column])
    keep = np.ones(len(frame), dtype=bool)
    if since is not None:
        keep &= ts >= utc(since)
    if until is not None:
        keep &= ts < utc(until)
    if not keep.any():
        raise EmptyDataError(f"no rows between since={since} and until={until}; widen the range")
    return keep


#: the smallest labelled count any policy may ask for; concept statistics are measured with it
#: and every policy's ``min_labelled_rows`` is applied when judging
CONCEPT_MIN_SAMPLES = 4


@dataclass
class FrameSource:
    """Production rows in memory (from a frame, files or the prediction log), cut into windows.

    Build it with :meth:`prepare`; ``reasons`` says per row why it cannot be used (None: it
    can), ``feature_ok`` whether its features can be checked.
    """

    frame: pd.DataFrame
    reasons: np.ndarray
    feature_ok: np.ndarray
    scores: np.ndarray | None
    windows: list[Window]
    spec: WindowSpec
    prediction_column: str = "prediction"
    outcome_column: str = "outcome"
    timestamp_column: str = "timestamp"
    is_log: bool = False
    tz: str = "UTC"
    warnings: list[str] = field(default_factory=list)
    unplaced: dict[str, int] = field(default_factory=dict)
    _matrix: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def prepare(cls, data: Any, model: str, baseline: Any, *, window: Any = "7D",
                outcomes: Any = None, timestamp_column: str = "timestamp",
                prediction_column: str = "prediction", outcome_column: str = "outcome",
                since: Any = None, until: Any = None, read_since: Any = None,
                now: pd.Timestamp | None = None, tz: str = "UTC") -> FrameSource:
        """Read ``data``, attach outcomes, set bad rows aside, keep ``[since, until)`` and
        rows before ``now``, and cut the rest into windows (``read_since`` narrows what is
        read, e.g. from an incremental run's resume point)."""
        spec = parse_window(window)
        frame = read_production(data, model, since=read_since if read_since is not None
                                else since, until=until)
        if len(frame) == 0:
            raise EmptyDataError(f"no production rows for model {model!r}; check the data "
                                 "source and the since/until range")
        frame = attach_outcomes(frame, outcomes, outcome_column).reset_index(drop=True)
        if spec.is_time and timestamp_column not in frame.columns:
            raise DataError(f"column {timestamp_column!r} is missing; name the time column with "
                            "timestamp_column= or use a row-count window such as window=5000")
        cleaned = clean_rows(frame, baseline, prediction_column=prediction_column,
                             outcome_column=outcome_column,
                             timestamp_column=(timestamp_column if spec.is_time
                                               or since is not None or until is not None
                                               else None))
        frame, reasons, scores = cleaned.frame, cleaned.reasons, cleaned.scores
        keep: np.ndarray | None = None
        if (since is not None or until is not None) and timestamp_column in frame.columns:
            keep = time_filter(frame, timestamp_column, since, until)
        if now is not None and timestamp_column in frame.columns:
            # a simulated clock: later rows have not arrived
            before = np.asarray(to_utc(frame[timestamp_column]) < now)
            if not (before if keep is None else before & keep).any():
                raise EmptyDataError(f"no rows before now={now.isoformat()}")
            keep = before if keep is None else keep & before
        if keep is not None:
            frame, reasons = frame[keep].reset_index(drop=True), reasons[keep]
            scores = scores[keep] if scores is not None else None
        feature_ok = ~np.isin(reasons, np.array(sorted(FEATURE_REASONS), dtype=object))
        stamps = frame[timestamp_column] if timestamp_column in frame.columns else None
        windows = split_windows(stamps, spec, tz=tz, n_rows=len(frame))
        missing = [f for f in baseline.feature_names if f not in frame.columns]
        if len(missing) == len(baseline.feature_names):
            raise DataError(f"none of the baseline's features "
                            f"({', '.join(baseline.feature_names[:5])}...) are in the data; "
                            "is this the right model and data source?")
        notes = [*cleaned.notes, *(f"{n} (no window)" for n in skip_notes(cleaned.unplaced))]
        return cls(frame, reasons, feature_ok, scores, windows, spec, prediction_column,
                   outcome_column, timestamp_column, is_log_url(data), tz, notes,
                   dict(cleaned.unplaced))

    @property
    def last_time(self) -> pd.Timestamp | None:
        """The clock of an incremental run: now for the log, the last timestamp for files."""
        if self.is_log or self.timestamp_column not in self.frame.columns:
            return pd.Timestamp.now(tz="UTC")
        return to_utc(self.frame[self.timestamp_column]).max()

    def shift(self, offset: int) -> None:
        """Number the windows from ``offset`` (a resumed run keeps the full history's indices)."""
        self.windows = [replace(w, index=w.index + offset) for w in self.windows]

    def usable(self, w: Window) -> np.ndarray:
        return np.asarray(w.rows)[self.feature_ok[w.rows]]

    def n_usable(self, w: Window) -> int:
        return int(np.count_nonzero(self.feature_ok[w.rows]))

    def concepts(self, windows: Sequence[Window], baseline: Any,
                 notes: list[str]) -> dict[int, ConceptDriftResult]:
        """Concept statistics per window (judged later under each policy's thresholds)."""
        if self.outcome_column not in self.frame.columns:
            notes.append("no outcomes in the data: concept drift not checked")
            return {}
        if self.prediction_column not in self.frame.columns:
            notes.append(f"no {self.prediction_column!r} column: concept drift not checked")
            return {}
        ref = getattr(baseline, "concept", None)
        if ref is None:
            notes.append("the baseline has no concept reference (no validation predictions and "
                         "outcomes at fit time): concept drift not checked")
            return {}
        assert self.scores is not None  # the prediction column is there
        preds = self._predictions(baseline)
        assert preds is not None  # the prediction column is there
        outs = self.frame[self.outcome_column].to_numpy(dtype=float)  # cleaned by clean_rows
        bad = np.isnan(preds) if preds.ndim == 1 else np.isnan(preds).any(axis=1)
        if bad.all():
            notes.append("predictions are not numbers: concept drift not checked")
            return {}
        if bad.any():
            outs = np.where(bad, np.nan, outs)
            preds = np.where(bad if preds.ndim == 1 else bad[:, None], 0.0, preds)
        if not windows:
            return {}
        results = concept_drift_per_window(preds, outs, windows, reference_correlation=ref,
                                           min_samples=CONCEPT_MIN_SAMPLES)
        return {w.index: r for w, r in zip(windows, results, strict=True)}

    def performance(self, windows: Sequence[Window], baseline: Any, policy: Policy,
                    notes: list[str], bands: Bands | None = None
                    ) -> dict[int, WindowPerformance]:
        """Realized and estimated performance per window, with bands at each window's n
        (:mod:`~modelsteward.monitor.performance_checks`); ``bands``: at the policy's
        performance_alpha, to reuse resamples drawn before (calibration)."""
        return performance_checks.measure(
            self.frame, list(windows), baseline, policy, notes=notes,
            prediction_column=self.prediction_column, outcome_column=self.outcome_column,
            scores=self._predictions(baseline), bands=bands)

    def _predictions(self, baseline: Any) -> np.ndarray | None:
        """The cleaned scores; for a multiclass model the ``n x k`` matrix of its class
        probability lists, parsed once per source (concepts, performance, calibration)."""
        ref = getattr(baseline, "concept", None)
        if ref is None or getattr(ref, "task", None) != "multiclass":
            return self.scores
        k = int(ref.n_classes)
        if self._matrix is None or self._matrix.shape[1] != k:
            self._matrix = performance_checks.predictions_of(
                self.frame, self.prediction_column, None, "multiclass", k)
        return self._matrix

    def measure(self, w: Window, baseline: Any, policies: Sequence[Policy],
                concept: ConceptDriftResult | None) -> WindowMeasurement:
        rows = self.frame.iloc[self.usable(w)]
        return measure_window(baseline, rows, index=w.index, label=w.label, start=w.start,
                              end=w.end, policies=policies, concept=concept,
                              skipped=count_reasons(self.reasons[w.rows]))
