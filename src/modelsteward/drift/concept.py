"""Concept drift: does the model's score still track the outcome?

The feature-target relation is watched through the correlation between the model's
predictions and the outcomes that arrive later, per time window, compared with the
correlation measured on the held-out split at training time. A one-sided Fisher z test
asks whether a window's correlation is lower than the reference; a drift is only called
when that is significant *and* the drop, in Fisher z units (``atanh(r_ref) - atanh(r)``,
which scales with the reference: 0.905 -> 0.85 is 0.24, 0.30 -> 0.25 is 0.05), is at least
``min_drop``. Correlation is one signal; :mod:`modelsteward.drift.performance` watches the
metrics themselves with noise bands at each window's size.

Outcomes arrive late: a NaN outcome is a prediction whose label is not known yet. It
counts against ``coverage`` and is left out of every figure.

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

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from modelsteward._params import P_THRESHOLD, InstanceOf, Interval, check_param, validate_params
from modelsteward.errors import ConfigError, DataError, EmptyDataError
from modelsteward.stats.correlation import fisher_z_drop
from modelsteward.stats.metrics import performance_metrics

__all__ = [
    "ConceptDriftResult",
    "Window",
    "WindowSpec",
    "detect_concept_drift",
    "parse_window",
    "split_windows",
]

WindowUnit = Literal["week", "day", "hour", "rows"]


# --- windows ------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowSpec:
    """How production data is cut: ``count`` calendar weeks / days / hours, or rows.

    >>> parse_window("7D")
    WindowSpec(unit='week', count=1)
    >>> parse_window("1000rows")
    WindowSpec(unit='rows', count=1000)
    """

    unit: WindowUnit
    count: int

    @property
    def is_time(self) -> bool:
        return self.unit != "rows"

    @property
    def noisy(self) -> bool:
        """True for windows shorter than a day (the chapter: hourly windows are chaos)."""
        return self.unit == "hour"

    def describe(self) -> str:
        if self.unit == "rows":
            return f"{self.count} rows"
        name = {"week": "calendar week", "day": "day", "hour": "hour"}[self.unit]
        return f"{self.count} {name}s" if self.count > 1 else name


_WINDOW_RE = re.compile(r"^\s*(\d*)\s*([a-zA-Z]+)\s*$")
_UNIT_ALIASES: dict[str, WindowUnit] = {
    "w": "week",
    "week": "week",
    "weeks": "week",
    "weekly": "week",
    "d": "day",
    "day": "day",
    "days": "day",
    "daily": "day",
    "h": "hour",
    "hour": "hour",
    "hours": "hour",
    "hourly": "hour",
    "rows": "rows",
    "row": "rows",
    "r": "rows",
}


def parse_window(window: str | int | WindowSpec) -> WindowSpec:
    """Read a window spec: ``"7D"``/``"W"`` calendar weeks, ``"1D"`` days, ``"1h"`` hours,
    ``"5000rows"`` or an int for fixed row counts. Multiples of 7 days are calendar weeks.

    >>> parse_window("2W")
    WindowSpec(unit='week', count=2)
    >>> parse_window("1h"), parse_window(500)
    (WindowSpec(unit='hour', count=1), WindowSpec(unit='rows', count=500))
    """
    if isinstance(window, WindowSpec):
        return window
    if isinstance(window, bool):
        raise ConfigError(f"window={window!r} is not a window; use e.g. '7D', '1D', '1h' or 5000")
    if isinstance(window, (int, np.integer)):
        if window < 1:
            raise ConfigError(f"window={window} rows must be at least 1")
        return WindowSpec("rows", int(window))
    match = _WINDOW_RE.match(str(window))
    unit = _UNIT_ALIASES.get(match.group(2).lower()) if match else None
    if match is None or unit is None:
        raise ConfigError(
            f"window={window!r} is not understood; use '7D' or 'W' (calendar weeks), "
            "'1D' (days), '1h' (hours) or '5000rows' / an integer (fixed row counts)"
        )
    count = int(match.group(1)) if match.group(1) else 1
    if count < 1:
        raise ConfigError(f"window={window!r} must cover at least one unit")
    if unit == "day" and count % 7 == 0:
        unit, count = "week", count // 7
    return WindowSpec(unit, count)


@dataclass(frozen=True)
class Window:
    """One slice of production data: ``[start, end)`` in time (or a row range) and its rows.

    ``rows`` are positions into the input arrays, in time order.
    """

    index: int
    label: str
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    rows: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        return int(self.rows.size)


def to_utc_timestamps(timestamps: Any, tz: str = "UTC") -> pd.DatetimeIndex:
    """Timestamps as a tz-aware index in ``tz``; naive values are taken as UTC."""
    if isinstance(timestamps, pd.DatetimeIndex):
        idx = timestamps
    else:
        series = pd.Series(timestamps)
        try:
            if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
                # strings: ISO 8601, naive ones taken as UTC, offsets honoured
                idx = pd.DatetimeIndex(pd.to_datetime(series, utc=True, format="ISO8601"))
            else:
                idx = pd.DatetimeIndex(pd.to_datetime(series))
        except Exception as exc:  # unparsable strings, mixed types
            raise DataError(
                f"timestamps cannot be read as dates ({exc}); pass datetimes or ISO 8601 strings"
            ) from exc
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    if idx.hasnans:
        raise DataError("timestamps contain missing values; every row needs a timestamp")
    try:
        return idx.tz_convert(tz).as_unit("ns")
    except Exception as exc:
        raise ConfigError(
            f"time zone {tz!r} is unknown; use an IANA name such as 'UTC' or 'Europe/Berlin'"
        ) from exc


def _floor(ts: pd.Timestamp, spec: WindowSpec) -> pd.Timestamp:
    if spec.unit == "hour":
        return ts.floor("h")
    day = ts.normalize()
    if spec.unit == "week":
        return day - pd.Timedelta(days=int(ts.dayofweek))
    return day


def _step(spec: WindowSpec) -> pd.DateOffset:
    if spec.unit == "hour":
        return pd.DateOffset(hours=spec.count)
    if spec.unit == "week":
        return pd.DateOffset(weeks=spec.count)
    return pd.DateOffset(days=spec.count)


def _label(start: pd.Timestamp, spec: WindowSpec) -> str:
    if spec.unit == "week":
        iso = start.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if spec.unit == "day":
        return start.strftime("%Y-%m-%d")
    return start.strftime("%Y-%m-%d %H:%M")


def split_windows(
    timestamps: Any,
    window: str | int | WindowSpec = "7D",
    *,
    tz: str = "UTC",
    n_rows: int | None = None,
) -> list[Window]:
    """Cut rows into windows in time order; empty calendar windows in between are kept.

    Window edges are calendar edges in ``tz`` (Monday 00:00 for weeks, midnight for days,
    the full hour for hours); DST changes are respected because edges are local times.

    >>> ts = ["2026-01-05T10:00Z", "2026-01-06T10:00Z", "2026-01-20T09:00Z"]
    >>> [(w.label, w.n) for w in split_windows(ts, "W")]
    [('2026-W02', 2), ('2026-W03', 0), ('2026-W04', 1)]
    """
    spec = parse_window(window)
    if spec.unit == "rows":
        if timestamps is None:
            if n_rows is None:
                raise DataError("row-count windows need either timestamps or n_rows")
            order = np.arange(n_rows)
            stamps = None
        else:
            stamps = to_utc_timestamps(timestamps, tz)
            order = np.argsort(stamps.asi8, kind="stable")
        total = order.size
        out = []
        for i, lo in enumerate(range(0, total, spec.count)):
            rows = order[lo : lo + spec.count]
            start = stamps[rows[0]] if stamps is not None else None
            end = stamps[rows[-1]] if stamps is not None else None
            out.append(Window(i, f"rows {lo}-{lo + rows.size - 1}", start, end, rows))
        return out
    if timestamps is None:
        raise DataError(
            f"{spec.describe()} windows need timestamps; pass them or use a row-count window"
        )
    stamps = to_utc_timestamps(timestamps, tz)
    if len(stamps) == 0:
        return []
    order = np.argsort(stamps.asi8, kind="stable")
    sorted_ns = stamps.asi8[order]
    first = _floor(stamps[order[0]], spec)
    last = stamps[order[-1]]
    step = _step(spec)
    windows: list[Window] = []
    start = first
    while start <= last:
        end = start + step
        lo = int(np.searchsorted(sorted_ns, start.value, side="left"))
        hi = int(np.searchsorted(sorted_ns, end.value, side="left"))
        windows.append(Window(len(windows), _label(start, spec), start, end, order[lo:hi]))
        start = end
    return windows


# --- concept drift --------------------------------------------------------------------------
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


def _as_float_array(values: Any, name: str, *, matrix: bool = False) -> np.ndarray:
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


def _reference(
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
    p = _as_float_array(reference_predictions, "reference_predictions", matrix=True)
    o = _as_float_array(reference_outcomes, "reference_outcomes")
    if p.shape[0] != o.size:
        raise DataError(
            f"reference_predictions has {p.shape[0]} values but reference_outcomes has "
            f"{o.size}; they must align"
        )
    keep = ~(np.isnan(p) if p.ndim == 1 else np.isnan(p).any(axis=1)) & ~np.isnan(o)
    r_fit = correlation_of(p[keep], o[keep])
    if r_fit is None:
        raise DataError(
            "the reference correlation is undefined (fewer than 3 labelled rows, or constant "
            "predictions or outcomes); use a larger, labelled reference split"
        )
    task = "multiclass" if p.ndim == 2 else ("binary" if is_binary(o[keep]) else "regression")
    return r_fit, int(keep.sum()), task


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
    timestamps: Any,
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
    """One :class:`ConceptDriftResult` per window, in time order.

    ``reference_correlation`` may be a float or the baseline's ``ConceptReference`` (which
    also carries the reference size ``n``). With a bare float and no ``reference_n``, the
    reference is treated as exact and only the window's sampling error enters the test.
    ``windows`` (pre-cut, e.g. by the monitor) overrides ``window``/``timestamps``.

    Drift is called when the one-sided p-value is below ``p_threshold`` *and* the drop in
    Fisher z units, ``atanh(r_ref) - atanh(r)``, is at least ``min_drop`` (its standard
    error at the window's n is ``1/sqrt(n - 3)``, plus ``1/(n_ref - 3)`` under the root with
    a reference size). Multiclass predictions are an ``n x k`` probability matrix (the
    correlation pools each class's probability against its indicator); a binary decision is
    ``score > threshold`` (the baseline's).

    ``p_threshold`` follows the one rule of every detector (a real number strictly between
    0 and 1), ``min_drop`` is in [0, 10] Fisher z units, ``min_samples`` and
    ``reference_n`` are integers >= 4 (the Fisher z test needs n > 3); anything else is an
    :class:`~modelsteward.errors.InvalidParameterError`.
    """
    pred = _as_float_array(predictions, "predictions", matrix=True)
    out = _as_float_array(outcomes, "outcomes")
    if pred.shape[0] != out.size:
        raise DataError(
            f"predictions has {pred.shape[0]} values but outcomes has {out.size}; they must "
            "align"
        )
    if pred.size == 0:
        raise EmptyDataError("no predictions to check; pass at least one window of predictions")
    if np.isnan(pred).any():
        raise DataError("predictions contain NaN; every logged prediction needs a value")
    r_ref, n_ref, ref_task = _reference(
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
    if windows is None:
        windows = split_windows(timestamps, window, tz=tz, n_rows=pred.shape[0])

    results: list[ConceptDriftResult] = []
    for w in windows:
        p_w = pred[w.rows]
        o_w = out[w.rows]
        labelled = ~np.isnan(o_w)
        n = int(labelled.sum())
        coverage = float(n / p_w.shape[0]) if p_w.shape[0] else 0.0
        p_l, o_l = p_w[labelled], o_w[labelled]
        common: dict[str, Any] = dict(
            window_start=w.start,
            window_end=w.end,
            n=n,
            coverage=coverage,
            reference_correlation=r_ref,
            n_predictions=int(p_w.shape[0]),
            reference_n=n_ref,
            p_threshold=p_threshold,
            min_drop=min_drop,
            task=task,
            label=w.label,
        )
        perf = window_performance(p_l, o_l, task, threshold) if n else {}
        if n < min_samples:
            results.append(
                ConceptDriftResult(
                    correlation=correlation_of(p_l, o_l) if n >= 3 else None,
                    p_value=None,
                    is_drifted=False,
                    status="insufficient_data",
                    performance=perf,
                    reason=f"{n} labelled rows < min_samples={min_samples}; no test run",
                    **common,
                )
            )
            continue
        r = correlation_of(p_l, o_l)
        if r is None:
            results.append(
                ConceptDriftResult(
                    correlation=None,
                    p_value=None,
                    is_drifted=False,
                    status="insufficient_data",
                    performance=perf,
                    reason="predictions or outcomes are constant in this window",
                    **common,
                )
            )
            continue
        fz = fisher_z_drop(r_ref, n_ref, r, n)
        drop = r_ref - r
        drifted = fz.p_value < p_threshold and fz.z_drop >= min_drop
        p_value = fz.p_value
        results.append(
            ConceptDriftResult(
                correlation=r,
                p_value=p_value,
                is_drifted=drifted,
                drop=drop,
                z_drop=fz.z_drop,
                status="drifted" if drifted else "ok",
                performance=perf,
                **common,
            )
        )
    return results
