"""Window specs and splitting: how production data is cut into the windows the monitor checks.

Calendar windows (weeks, days, hours) have edges at local calendar times in ``tz``; row-count
windows take rows in time order when timestamps are given, in input order otherwise.

    >>> [(w.label, w.n) for w in split_windows(None, 3, n_rows=7)]
    [('rows 0-2', 3), ('rows 3-5', 3), ('rows 6-6', 1)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from modelsteward.errors import ConfigError, DataError

__all__ = ["Window", "WindowSpec", "parse_window", "split_windows", "to_utc_timestamps"]

WindowUnit = Literal["week", "day", "hour", "rows"]


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
        return day - pd.Timedelta(days=ts.weekday())  # Monday 0 (dayofweek is deprecated)
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
    timestamps: Any = None,
    window: str | int | WindowSpec = "7D",
    *,
    tz: str = "UTC",
    n_rows: int | None = None,
) -> list[Window]:
    """Cut rows into windows in time order; empty calendar windows in between are kept.

    ``timestamps`` may be None for row-count windows (then ``n_rows`` says how many rows).
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


