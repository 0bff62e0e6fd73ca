"""Read tabular input into ``{name: 1-D numpy array}`` and normalise column values.

Accepted: a dict of name -> array-like, a pandas DataFrame, a polars DataFrame, a pyarrow
Table (or RecordBatch). Numeric columns come back as their numpy dtype (nulls as NaN when the
source had nulls), string-like columns as object arrays with ``None`` for nulls.

Datetime columns, naive or time-zone aware in any zone (numpy ``datetime64``, pandas
``datetime64[ns, tz]``, Arrow/polars timestamps and dates, Python ``datetime``/``date`` or
``pd.Timestamp`` objects), come back as float64 **seconds since the Unix epoch in UTC**
(naive values are read as UTC; NaT becomes NaN), so they are numeric features compared by
KS and PSI on the time axis and never categories. Timedeltas come back as float64 seconds.

Column names must be unique once turned into strings (``1`` and ``"1"`` collide): a
duplicate is a :class:`~modelsteward.errors.DataError` naming it.

    >>> import numpy as np
    >>> cols = as_columns({"a": [1.0, 2.0], "b": np.array(["x", "y"])})
    >>> sorted(cols), cols["a"].dtype
    (['a', 'b'], dtype('float64'))
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from modelsteward.errors import (
    BaselineError,
    ColumnTypeError,
    DataError,
    EmptyDataError,
    UnsupportedInputError,
)

__all__ = [
    "NUMERIC",
    "CATEGORICAL",
    "as_columns",
    "category_counts",
    "check_fit_columns",
    "epoch_seconds",
    "infer_kind",
    "numeric_values",
    "window_columns",
]

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)


def _as_array(name: str, values: Any) -> np.ndarray:
    """``np.asarray(values)``; ragged nested lists are a ColumnTypeError, not numpy's."""
    try:
        return np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise ColumnTypeError(
            f"column {name!r} cannot be read as one array ({exc}); pass a flat list or a "
            "1-D array per column"
        ) from None


def _one_dim(name: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.names is not None or arr.dtype.kind == "V":
        raise ColumnTypeError(
            f"column {name!r} has a structured dtype {arr.dtype}; pass one column per field"
        )
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ColumnTypeError(
            f"column {name!r} has shape {arr.shape}; every column must be one-dimensional "
            "(split multi-dimensional features into one column each)"
        )
    return arr


#: numpy datetime/timedelta units as (multiplier, divisor) to seconds
_UNIT_SECONDS: dict[str, tuple[int, int]] = {
    "W": (604_800, 1), "D": (86_400, 1), "h": (3_600, 1), "m": (60, 1), "s": (1, 1),
    "ms": (1, 10**3), "us": (1, 10**6), "ns": (1, 10**9), "ps": (1, 10**12),
    "fs": (1, 10**15), "as": (1, 10**18),
}
_TEMPORAL = ("datetime64", "datetime", "date", "timedelta64", "timedelta")
_NAT = np.iinfo(np.int64).min
_DATE_TYPES = (_dt.date, _dt.timedelta, np.datetime64, np.timedelta64)


def _seconds(arr: np.ndarray) -> np.ndarray:
    """float64 seconds of a numpy datetime64 (since the epoch) or timedelta64 array."""
    unit, count = np.datetime_data(arr.dtype)
    if unit not in _UNIT_SECONDS:  # years, months, generic: calendar units, go through s
        arr = arr.astype("datetime64[s]" if arr.dtype.kind == "M" else "timedelta64[s]")
        unit, count = "s", 1
    ticks = arr.view(np.int64)
    mult, div = _UNIT_SECONDS[unit]
    out = ticks.astype(np.float64)
    if mult * count != 1:
        out *= mult * count
    if div != 1:
        out /= div
    nat = ticks == _NAT
    if nat.any():
        out[nat] = np.nan
    return out


def epoch_seconds(values: np.ndarray, name: str = "values") -> np.ndarray:
    """Datetime-like arrays as float64 seconds since the epoch (UTC), timedeltas as seconds;
    any other array unchanged.

    One rule whatever the time zone: aware values are converted to UTC, naive ones are read
    as UTC. Object arrays are recognised from their first 64 values (all nulls there: from
    the whole column); a column mixing datetimes with other values is a ColumnTypeError.

        >>> import pandas as pd
        >>> epoch_seconds(np.array(["1970-01-02"], dtype="datetime64[D]")).tolist()
        [86400.0]
        >>> ts = [pd.Timestamp("1970-01-01 01:00", tz="Europe/Paris"), None]
        >>> epoch_seconds(np.array(ts, dtype=object)).tolist()
        [0.0, nan]
    """
    kind = values.dtype.kind
    if kind in "mM":
        return _seconds(values)
    if kind != "O" or values.size == 0:
        return values
    inferred = pd.api.types.infer_dtype(values[:64], skipna=True)
    if inferred == "empty" and values.size > 64:
        inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "mixed" and any(isinstance(v, _DATE_TYPES) for v in values[:64].tolist()):
        raise ColumnTypeError(
            f"column {name!r} holds datetimes mixed with other values; clean it, or convert "
            "it to numbers yourself (datetimes are compared as epoch seconds, never as text)"
        )
    if inferred not in _TEMPORAL:
        return values
    series = pd.Series(values, dtype=object, copy=False)
    try:
        if inferred.startswith("timedelta"):
            converted = pd.to_timedelta(series).to_numpy()
        else:
            converted = pd.to_datetime(series, utc=True).dt.tz_convert(None).to_numpy()
    except (TypeError, ValueError, OverflowError) as exc:
        raise ColumnTypeError(
            f"column {name!r} holds datetimes mixed with other values ({exc}); "
            "clean it, or convert it to numbers yourself"
        ) from None
    return _seconds(converted)


def _from_pandas_series(series: Any) -> np.ndarray:
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):  # aware: UTC wall time, then epoch seconds
        return np.asarray(series.dt.tz_convert(None).to_numpy())
    if isinstance(dtype, pd.CategoricalDtype):
        return np.asarray(series.astype(object).to_numpy(dtype=object, na_value=None))
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, np.dtype):
        return np.asarray(series.to_numpy(dtype=object, na_value=None))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if isinstance(dtype, np.dtype):
            return np.asarray(series.to_numpy())
        # nullable extension dtypes (Int64, Float64, arrow numerics): nulls become NaN
        return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan))
    if isinstance(dtype, np.dtype):
        return np.asarray(series.to_numpy())
    return np.asarray(series.to_numpy(dtype=object, na_value=None))


def _column(name: str, arr: np.ndarray) -> np.ndarray:
    return epoch_seconds(_one_dim(name, arr), name)


def _check_unique(names: list[Any], what: str) -> None:
    """DataError naming every column name that occurs twice once names are strings."""
    labels = [str(n) for n in names]
    if len(set(labels)) == len(labels):
        return
    seen: set[str] = set()
    dup: list[str] = []
    for label in labels:
        if label in seen and label not in dup:
            dup.append(label)
        seen.add(label)
    shown = []
    for d in dup[:10]:
        group = [repr(n) for n in names if str(n) == d]
        same = len(set(group)) == 1
        shown.append(f"{group[0]} ({len(group)} times)" if same else " and ".join(group))
    raise DataError(
        f"{what} has duplicate column names: {'; '.join(shown)}; column names must be "
        "unique as strings, rename them first"
    )


def as_columns(data: Any) -> dict[str, np.ndarray]:
    """``{column name: 1-D numpy array}`` from a dict of arrays, pandas, polars or pyarrow.

    Column names become strings and must then be unique (``{1: .., "1": ..}`` or a table
    with a repeated name is a :class:`~modelsteward.errors.DataError`). Datetime columns
    become float64 epoch seconds in UTC (see the module docstring). Arrays are not copied
    where the source allows it. Raises
    :class:`~modelsteward.errors.UnsupportedInputError` for other containers.
    """
    if isinstance(data, Mapping):
        _check_unique(list(data), "the dict")
        out: dict[str, np.ndarray] = {}
        for name, values in data.items():
            if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
                module = type(values).__module__
                if module.startswith("pandas"):
                    arr = _from_pandas_series(values)
                elif module.startswith("polars"):
                    arr = np.asarray(values.to_numpy())
                else:
                    arr = np.asarray(values.to_numpy(zero_copy_only=False))
            else:
                arr = _as_array(str(name), values)
            out[str(name)] = _column(str(name), arr)
        return out
    module = type(data).__module__
    if module.startswith("pandas") and hasattr(data, "columns") and hasattr(data, "iloc"):
        _check_unique(list(data.columns), "the pandas DataFrame")
        return {
            str(c): _column(str(c), _from_pandas_series(data.iloc[:, i]))
            for i, c in enumerate(data.columns)
        }
    if module.startswith("polars") and hasattr(data, "get_columns"):
        series = data.get_columns()
        _check_unique([s.name for s in series], "the polars DataFrame")
        return {str(s.name): _column(str(s.name), np.asarray(s.to_numpy())) for s in series}
    if module.startswith("pyarrow") and hasattr(data, "column_names"):
        _check_unique(list(data.column_names), "the pyarrow table")
        out = {}
        for i, name in enumerate(data.column_names):
            col = data.column(i)
            if hasattr(col, "num_chunks"):  # ChunkedArray: zero-copy for one chunk
                arr = np.asarray(col.to_numpy())
            else:
                arr = np.asarray(col.to_numpy(zero_copy_only=False))
            out[str(name)] = _column(str(name), arr)
        return out
    raise UnsupportedInputError(
        f"cannot read data of type {type(data).__module__}.{type(data).__name__}; pass a dict "
        "of name -> numpy array, a pandas or polars DataFrame, or a pyarrow Table"
    )


def check_fit_columns(cols: Mapping[str, np.ndarray], kinds: Mapping[str, str]) -> None:
    """The data to fit has columns, and ``kinds`` names only columns it has.

    >>> check_fit_columns({"x": np.zeros(2)}, {"y": "numeric"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    modelsteward.errors.BaselineError: kinds names columns that are not in the data: ['y']; ...
    """
    if not cols:
        raise EmptyDataError("cannot fit a baseline on data without columns")
    unknown = sorted(set(kinds) - set(cols))
    if unknown:
        raise BaselineError(
            f"kinds names columns that are not in the data: {unknown}; "
            f"the columns are {list(cols)[:20]}"
        )


def window_columns(current: Any) -> dict[str, np.ndarray]:
    """A current window as columns; a window without rows (columns all empty) is an
    :class:`~modelsteward.errors.EmptyDataError`.

    >>> window_columns({"x": [1.0, 2.0]})["x"].tolist()
    [1.0, 2.0]
    """
    cols = as_columns(current)
    if cols and all(v.shape[0] == 0 for v in cols.values()):
        raise EmptyDataError(
            "the current window has no rows; widen the window or check that production "
            "data is being logged"
        )
    return cols


def infer_kind(values: npt.ArrayLike | pa.DataType) -> str:
    """The kind of a column, from its values (a numpy array or array-like) or its Arrow type:
    the one rule of every fit path (exact, sketch, files, Spark), applied once at fit time and
    stored in the baseline, never re-guessed per window.

    - ``"numeric"``: integers, floats, decimals (and object columns holding only numbers);
      datetimes, dates and timedeltas (compared as epoch seconds, never as text); a column
      with no value at all (all null, or no rows): nothing says it holds strings.
    - ``"categorical"``: strings, booleans, bytes, mixed objects, anything else.

    Low-cardinality numerics (0/1 flags, small counts) stay numeric on purpose: the KS test
    handles ties exactly and PSI merges duplicate edges; declare them categorical through
    ``kinds`` when the numbers are codes.

        >>> import pyarrow as pa
        >>> infer_kind(np.array([0, 1, 1])), infer_kind(np.array(["a", None], dtype=object))
        ('numeric', 'categorical')
        >>> infer_kind(np.array([None, None], dtype=object)), infer_kind(pa.null())
        ('numeric', 'numeric')
        >>> infer_kind(np.array(["2026-03-01"], dtype="datetime64[D]")), infer_kind(pa.date32())
        ('numeric', 'numeric')
    """
    if isinstance(values, pa.DataType):
        return _kind_of_arrow_type(values)
    if not isinstance(values, np.ndarray):
        values = np.asarray(values)
    kind = values.dtype.kind
    if kind in "iufmM":  # datetimes and timedeltas: numeric on epoch seconds
        return NUMERIC
    if kind != "O":  # booleans, strings, bytes, complex, void
        return CATEGORICAL
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    if inferred == "empty":  # only nulls (or no rows): nothing says it holds strings
        return NUMERIC
    if inferred in ("floating", "integer", "mixed-integer-float", "decimal"):
        return NUMERIC
    if inferred in _TEMPORAL:  # datetime objects: numeric on epoch seconds, never categories
        return NUMERIC
    return CATEGORICAL


def _kind_of_arrow_type(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        t = t.value_type
    numeric = (
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        or pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_duration(t)
        or pa.types.is_null(t)
    )
    return NUMERIC if numeric else CATEGORICAL


def numeric_values(name: str, values: np.ndarray) -> np.ndarray:
    """The column as float64 (nulls as NaN). Copies only when the dtype is not float64."""
    if values.dtype == np.float64:
        return values
    kind = values.dtype.kind
    if kind in "iufb":
        return values.astype(np.float64)
    if kind in "mM":
        return _seconds(values)
    if kind == "c":
        raise ColumnTypeError(
            f"column {name!r} holds complex numbers; split them into real and imaginary "
            "columns or drop the column"
        )
    if kind == "O":
        converted = epoch_seconds(values, name)
        if converted is not values:
            return converted
    try:
        return np.asarray(pd.to_numeric(pd.Series(values, dtype=object)), dtype=np.float64)
    except OverflowError:
        raise ColumnTypeError(
            f"column {name!r} holds integers beyond the float64 range (about 1.8e308); "
            "scale or clip them upstream"
        ) from None
    except (TypeError, ValueError):
        bad = next(
            (v for v in values.tolist() if v is not None and not isinstance(v, (int, float))),
            None,
        )
        raise ColumnTypeError(
            f"column {name!r} is numeric in the baseline but holds non-numeric values "
            f"(e.g. {bad!r}); fix the upstream data or refit the baseline with "
            f"kinds={{{name!r}: 'categorical'}}"
        ) from None


def _category_label(value: Any) -> str:
    """Category key of a value: strings as they are, integral floats as integers (so a code
    column that gained nulls, and became float, keeps its keys), everything else ``str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return str(value)


def category_counts(values: np.ndarray) -> tuple[dict[str, int], int]:
    """(counts per category as strings, number of nulls) of a column read as categorical.

    Nulls are None, NaN, pandas NA/NaT. Values are keyed by ``str(value)``, except that
    integral floats are keyed as integers (``2.0`` -> ``"2"``).
    """
    series = pd.Series(values, dtype=object, copy=False)
    null = series.isna()
    n_null = int(null.sum())
    if n_null:
        series = series[~null]
    counts = series.value_counts(sort=False, dropna=True)
    out: dict[str, int] = {}
    for key, count in zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True):
        label = _category_label(key)
        out[label] = out.get(label, 0) + int(count)
    return out, n_null
