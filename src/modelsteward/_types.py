"""Type aliases shared by the parts of modelsteward.

``DataLike`` is "a frame of any kind" that the library reads (see
:func:`modelsteward.baseline.columns.as_columns`): a pandas or polars DataFrame, a pyarrow
Table or RecordBatch, or a mapping of column name to array-like.

    >>> import pandas as pd
    >>> from modelsteward._types import DataLike
    >>> frame: DataLike = pd.DataFrame({"x": [1.0]})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, Union

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

__all__ = ["DataLike"]

DataLike: TypeAlias = Union[  # noqa: UP007 - the forward references need Union
    "pd.DataFrame", "pl.DataFrame", "pa.Table", "pa.RecordBatch", Mapping[str, Any]
]
