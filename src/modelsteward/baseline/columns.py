"""Read tabular input into ``{name: 1-D numpy array}`` and normalise column values.

Accepted: a dict of name -> array-like, a pandas DataFrame, a polars DataFrame, a pyarrow
Table (or RecordBatch). Numeric columns come back as their numpy dtype (nulls as NaN when the
source had nulls), string-like columns as object arrays with ``None`` for nulls.

    >>> import numpy as np
    >>> cols = as_columns({"a": [1.0, 2.0], "b": np.array(["x", "y"])})
    >>> sorted(cols), cols["a"].dtype
    (['a', 'b'], dtype('float64'))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from modelsteward.errors import ColumnTypeError, UnsupportedInputError

__all__ = [
    "NUMERIC",
    "CATEGORICAL",
    "as_columns",
    "category_counts",
    "infer_kind",
    "numeric_values",
]

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)


def _one_dim(name: str, arr: np.ndarray) -> np.ndarray:
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ColumnTypeError(
            f"column {name!r} has shape {arr.shape}; every column must be one-dimensional "
            "(split multi-dimensional features into one column each)"
        )
    return arr


def _from_pandas_series(series: Any) -> np.ndarray:
    import pandas as pd

    dtype = series.dtype
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


def as_columns(data: Any) -> dict[str, np.ndarray]:
    """``{column name: 1-D numpy array}`` from a dict of arrays, pandas, polars or pyarrow.

    Column names become strings. Arrays are not copied where the source allows it.
    Raises :class:`~modelsteward.errors.UnsupportedInputError` for other containers.
    """
    if isinstance(data, Mapping):
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
                arr = np.asarray(values)
            out[str(name)] = _one_dim(str(name), arr)
        return out
    module = type(data).__module__
    if module.startswith("pandas") and hasattr(data, "columns") and hasattr(data, "iloc"):
        names = [str(c) for c in data.columns]
        if len(set(names)) != len(names):
            raise ColumnTypeError("the DataFrame has duplicate column names; rename them first")
        return {str(c): _one_dim(str(c), _from_pandas_series(data[c])) for c in data.columns}
    if module.startswith("polars") and hasattr(data, "get_columns"):
        return {
            str(s.name): _one_dim(str(s.name), np.asarray(s.to_numpy())) for s in data.get_columns()
        }
    if module.startswith("pyarrow") and hasattr(data, "column_names"):
        out = {}
        for name in data.column_names:
            col = data.column(name)
            if hasattr(col, "num_chunks"):  # ChunkedArray: zero-copy for one chunk
                arr = np.asarray(col.to_numpy())
            else:
                arr = np.asarray(col.to_numpy(zero_copy_only=False))
            out[str(name)] = _one_dim(str(name), arr)
        return out
    raise UnsupportedInputError(
        f"cannot read data of type {type(data).__module__}.{type(data).__name__}; pass a dict "
        "of name -> numpy array, a pandas or polars DataFrame, or a pyarrow Table"
    )


def infer_kind(values: np.ndarray) -> str:
    """``"numeric"`` for int/float columns (and object columns holding only numbers),
    ``"categorical"`` for strings, booleans, mixed objects.

    Low-cardinality numerics (0/1 flags, small counts) stay numeric on purpose: the KS test
    handles ties exactly and PSI merges duplicate edges; declare them categorical through
    ``kinds`` when the numbers are codes.
    """
    kind = values.dtype.kind
    if kind in "iuf":
        return NUMERIC
    if kind == "b":
        return CATEGORICAL
    if kind == "O" and values.size:
        import pandas as pd

        inferred = pd.api.types.infer_dtype(values, skipna=True)
        if inferred in ("floating", "integer", "mixed-integer-float", "decimal"):
            return NUMERIC
        if inferred == "empty":  # only nulls: nothing says it holds strings
            return NUMERIC
    if kind in "mM":
        raise ColumnTypeError(
            "datetime columns are not drift features; convert them to numbers (e.g. age in "
            "days) or drop them"
        )
    return CATEGORICAL


def numeric_values(name: str, values: np.ndarray) -> np.ndarray:
    """The column as float64 (nulls as NaN). Copies only when the dtype is not float64."""
    if values.dtype == np.float64:
        return values
    kind = values.dtype.kind
    if kind in "iufb":
        return values.astype(np.float64)
    if kind in "mM":
        raise ColumnTypeError(f"column {name!r} holds datetimes; convert it to numbers or drop it")
    try:
        import pandas as pd

        return np.asarray(pd.to_numeric(pd.Series(values, dtype=object)), dtype=np.float64)
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
    import pandas as pd

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
