"""Type aliases shared by the parts of modelsteward.

``DataLike`` is "a frame of any kind": a mapping of column name to array, a pandas or polars
DataFrame, a pyarrow Table or RecordBatch, or Parquet/CSV files (a path, directory, glob or
list of them). :func:`modelsteward.baseline.as_columns` reads every in-memory form,
:mod:`modelsteward.io` the files.

    >>> from modelsteward._types import DataLike
    >>> data: DataLike = {"x": [1.0, 2.0]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

__all__ = ["DataLike"]

DataLike: TypeAlias = (
    "Mapping[str, Any] | pd.DataFrame | pl.DataFrame | pa.Table | pa.RecordBatch | str "
    "| PathLike[str] | Sequence[str | PathLike[str]]"
)
