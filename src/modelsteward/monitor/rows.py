"""Rows the monitor cannot use: found, set aside and counted, never fatal.

One bad row (an infinite outcome, an outcome that is text, features that are not JSON, a
prediction that is not a number, a time that cannot be read) must not stop monitoring. Each
such row gets a reason; the monitor leaves the row out of the checks that need the bad field
and reports ``"12 rows skipped: non-finite outcome"`` per window::

    >>> import pandas as pd
    >>> rows = clean_rows(pd.DataFrame({"outcome": [1.0, float("inf"), 0.0]}), None,
    ...                   prediction_column="prediction", outcome_column="outcome",
    ...                   timestamp_column="timestamp")
    >>> list(rows.reasons), list(rows.frame["outcome"])
    ([None, 'non-finite outcome', None], [1.0, nan, 0.0])
    >>> skip_notes({"non-finite outcome": 12})
    ['12 rows skipped: non-finite outcome']
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.errors import DataError
from modelsteward.monitor.data import SKIP_COLUMN

__all__ = ["CleanRows", "FEATURE_REASONS", "clean_rows", "count_reasons", "skip_notes"]

#: Reasons that make a row's features unusable (left out of data drift and degradation).
FEATURE_REASONS = frozenset({"undecodable features JSON"})


@dataclass(frozen=True)
class CleanRows:
    """The frame with usable values, one reason (or None) per row, scores and notes."""

    frame: pd.DataFrame
    reasons: np.ndarray
    scores: np.ndarray | None
    notes: tuple[str, ...] = ()
    unplaced: dict[str, int] = field(default_factory=dict)


def skip_notes(counts: dict[str, int]) -> list[str]:
    """``["12 rows skipped: non-finite outcome", ...]``, most frequent first."""
    return [f"{n} row{'s' if n != 1 else ''} skipped: {reason}"
            for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def count_reasons(reasons: np.ndarray) -> dict[str, int]:
    given = reasons[_present(reasons)]
    return dict(Counter(str(r) for r in given.tolist())) if given.size else {}


def _present(reasons: np.ndarray) -> np.ndarray:
    """Which entries of an object array of reasons are set (not None)."""
    return np.asarray(pd.notna(reasons), dtype=bool)


def _merge(reasons: np.ndarray, why: np.ndarray) -> None:
    """Give rows without a reason yet the reason in ``why`` (first reason wins)."""
    take = _present(why) & ~_present(reasons)
    reasons[take] = why[take]


def baseline_classes(baseline: Any) -> list[str] | None:
    """The model's class labels in order, when the baseline records them.

    Looked up as ``baseline.concept.classes`` or ``baseline.metadata["classes"]`` (a JSON
    list or comma-separated text); index ``i`` of the list is outcome ``i``.
    """
    concept = getattr(baseline, "concept", None)
    classes = getattr(concept, "classes", None)
    if classes is None:
        meta = getattr(baseline, "metadata", None) or {}
        text = meta.get("classes") if isinstance(meta, dict) else None
        if not text:
            return None
        try:
            classes = json.loads(text)
        except (TypeError, ValueError):
            classes = [c.strip() for c in str(text).split(",")]
    if not isinstance(classes, (list, tuple)) or len(classes) < 2:
        return None
    return [str(c) for c in classes]


def _outcome(value: Any, classes: list[str] | None, seen: dict[str, set[str]]
             ) -> tuple[float, str | None]:
    """One outcome as a float (NaN when unknown) and the reason it was set aside, if any."""
    if value is None or value is pd.NA or value is pd.NaT:
        return math.nan, None
    if isinstance(value, (bool, np.bool_)):
        seen["bool"].add(str(bool(value)))
        return float(bool(value)), None
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            out = float(value)
        except OverflowError:
            return math.nan, "non-finite outcome"
        if math.isnan(out):
            return math.nan, None
        return (out, None) if math.isfinite(out) else (math.nan, "non-finite outcome")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return math.nan, None
        if text.lower() in ("true", "false"):
            seen["bool"].add(text.lower())
            return float(text.lower() == "true"), None
        try:
            out = float(text)
        except ValueError:
            pass
        except OverflowError:
            return math.nan, "non-finite outcome"
        else:
            if math.isnan(out):
                return math.nan, None
            return (out, None) if math.isfinite(out) else (math.nan, "non-finite outcome")
        if classes is not None:
            if text in classes:
                seen["mapped"].add(text)
                return float(classes.index(text)), None
            seen["unknown"].add(text)
            return math.nan, "outcome not among the model's classes"
        seen["text"].add(text)
        return math.nan, "text outcome (the model's classes are not recorded)"
    return math.nan, "outcome of the wrong type"


def _clean_outcomes(series: pd.Series, baseline: Any, column: str
                    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    notes: list[str] = []
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        inf = np.isinf(values)
        why = np.full(values.size, None, dtype=object)
        why[inf] = "non-finite outcome"
        return np.where(inf, np.nan, values), why, notes
    classes = baseline_classes(baseline)
    seen: dict[str, set[str]] = {"bool": set(), "mapped": set(), "unknown": set(), "text": set()}
    pairs = [_outcome(v, classes, seen) for v in series.tolist()]
    values = np.array([v for v, _ in pairs], dtype=float)
    if seen["bool"]:
        notes.append(f"outcome column {column!r} holds booleans: read as 1 (true) and 0 (false)")
    if seen["mapped"] and classes is not None:
        notes.append("text outcomes mapped to the model's classes recorded in the baseline: "
                     + ", ".join(f"{c}={i}" for i, c in enumerate(classes)))
    if seen["unknown"] and classes is not None:
        notes.append(f"outcomes {_sample(seen['unknown'])} are not among the model's classes "
                     f"({', '.join(classes)}): those rows were left out of concept drift")
    if seen["text"]:
        notes.append(
            f"outcome column {column!r} holds text labels ({_sample(seen['text'])}) and the "
            "baseline does not record the model's classes, so they cannot be mapped to "
            "numbers: those rows were left out of concept drift. Send numeric outcomes (0/1 "
            "in the model's class order), or fit the baseline with metadata "
            "classes='[\"no\", \"yes\"]' (the model's classes in order)")
    return values, np.array([r for _, r in pairs], dtype=object), notes


def _sample(values: set[str], k: int = 5) -> str:
    shown = sorted(values)[:k]
    return ", ".join(repr(v[:40]) for v in shown) + (", ..." if len(values) > k else "")


def _score(value: Any) -> tuple[float, str | None]:
    if isinstance(value, (list, tuple, np.ndarray)):
        if not len(value):
            return math.nan, "prediction of the wrong type"
        value = value[-1]
    if value is None or value is pd.NA:
        return math.nan, "missing prediction"
    if isinstance(value, (bool, np.bool_)):
        return float(value), None
    if isinstance(value, (int, float, np.integer, np.floating, str)):
        try:
            out = float(value)
        except ValueError:
            return math.nan, "prediction of the wrong type"
        except OverflowError:
            return math.nan, "non-finite prediction"
        if math.isnan(out) and not isinstance(value, str):
            return math.nan, "missing prediction"
        return (out, None) if math.isfinite(out) else (math.nan, "non-finite prediction")
    return math.nan, "prediction of the wrong type"


def _clean_features(frame: pd.DataFrame, baseline: Any
                    ) -> list[tuple[str, pd.Series, np.ndarray, str]]:
    """Values a feature's declared kind cannot take, set to null with a reason per row.

    A text, list or object in a numeric feature (or a list or object in a categorical one)
    would otherwise stop the whole run; a null is counted by the null-rate check, so a
    feature that turns to text everywhere still raises an alert.
    """
    columns = getattr(baseline, "columns", None) or {}
    out = []
    for name in getattr(baseline, "feature_names", ()):
        if name not in frame.columns or frame[name].dtype != object:
            continue
        series = frame[name]
        kind = getattr(columns.get(name), "kind", None)
        if kind == "numeric":
            as_num = pd.to_numeric(series.map(_plain_number), errors="coerce")
            bad = (as_num.isna() & series.notna()).to_numpy()
            if bad.any():
                out.append((name, as_num, bad, f"feature {name!r} not a number"))
        else:
            bad = series.map(lambda v: isinstance(v, (dict, list, tuple, set))).to_numpy(
                dtype=bool)
            if bad.any():
                out.append((name, series.where(~bad, None), bad,
                            f"feature {name!r} of the wrong type"))
    return out


def _plain_number(value: Any) -> Any:
    """Numbers and numeric text as they are; anything else as NaN (to_numeric would raise)."""
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    if isinstance(value, (int, float, np.integer, np.floating, str)) or value is None:
        return value
    return math.nan


def _scores(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Scores and reasons (None when usable); numeric columns in one vectorised pass."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        why = np.full(values.size, None, dtype=object)
        why[np.isnan(values)] = "missing prediction"
        why[np.isinf(values)] = "non-finite prediction"
        return np.where(np.isfinite(values), values, np.nan), why
    pairs = [_score(v) for v in series.tolist()]
    return (np.array([v for v, _ in pairs], dtype=float),
            np.array([w for _, w in pairs], dtype=object))


def _bad_timestamps(series: pd.Series) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return np.asarray(series.isna(), dtype=bool)
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        parsed = pd.to_datetime(series, utc=True, format="ISO8601", errors="coerce")
    else:
        try:
            parsed = pd.to_datetime(series, errors="coerce")
        except (TypeError, ValueError, OverflowError):
            return np.zeros(len(series), dtype=bool)  # to_utc_timestamps names the problem
    return np.asarray(pd.isna(parsed), dtype=bool)


def clean_rows(frame: pd.DataFrame, baseline: Any, *, prediction_column: str,
               outcome_column: str, timestamp_column: str | None) -> CleanRows:
    """Find the rows the monitor cannot use, neutralise their bad fields, give reasons.

    Rows without a readable time are dropped (they belong to no window) and counted in
    ``unplaced``; every other row stays, with its bad outcome or prediction set to NaN.
    """
    unplaced: dict[str, int] = dict(frame.attrs.get("skipped_unplaced", {}))
    if timestamp_column is not None and timestamp_column in frame.columns and len(frame):
        bad_time = _bad_timestamps(frame[timestamp_column])
        if bad_time.all():
            raise DataError(f"no row has a readable time in column {timestamp_column!r}; pass "
                            "datetimes or ISO 8601 strings")
        if bad_time.any():
            unplaced["unreadable timestamp"] = (unplaced.get("unreadable timestamp", 0)
                                                + int(bad_time.sum()))
            frame = frame[~bad_time].reset_index(drop=True)
    n = len(frame)
    reasons = np.full(n, None, dtype=object)
    if SKIP_COLUMN in frame.columns:
        reasons[:] = frame[SKIP_COLUMN].to_numpy(dtype=object)
        frame = frame.drop(columns=[SKIP_COLUMN])
    notes: list[str] = []
    updates: dict[str, Any] = {}
    scores = None
    if prediction_column in frame.columns:
        scores, why = _scores(frame[prediction_column])
        if n and not np.isnan(scores).all():  # all unusable: one note later, not n reasons
            _merge(reasons, why)
    for name, cleaned, bad, reason in _clean_features(frame, baseline):
        updates[name] = cleaned
        marked = np.full(n, None, dtype=object)
        marked[bad] = reason
        _merge(reasons, marked)
    if outcome_column in frame.columns:
        values, why_out, out_notes = _clean_outcomes(frame[outcome_column], baseline,
                                                     outcome_column)
        notes += out_notes
        _merge(reasons, why_out)
        updates[outcome_column] = values
    if updates:
        frame = frame.assign(**updates)
    return CleanRows(frame, reasons, scores, tuple(notes), unplaced)
