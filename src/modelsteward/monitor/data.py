"""Reading production data for the monitor: frames, CSV/Parquet files and globs, the
prediction log.

    >>> import pandas as pd
    >>> read_production(pd.DataFrame({"x": [1, 2]}), "m").shape
    (2, 1)
"""

from __future__ import annotations

import glob
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.errors import DataError, EmptyDataError, UnsupportedInputError

__all__ = ["LOG_URL_PREFIXES", "attach_outcomes", "is_log_url", "read_production"]

LOG_URL_PREFIXES = ("sqlite:", "postgresql:", "postgresql+", "postgres:", "mysql")


def is_log_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(LOG_URL_PREFIXES)


def _read_file(path: Path) -> pd.DataFrame:
    suffix = "".join(path.suffixes[-2:]).lower()
    if suffix.endswith((".parquet", ".pq")):
        return pd.read_parquet(path)
    if suffix.endswith((".csv", ".csv.gz", ".tsv")):
        return pd.read_csv(path, sep="\t" if suffix.endswith(".tsv") else ",")
    raise UnsupportedInputError(
        f"{path} is neither CSV nor Parquet; convert it or pass a DataFrame")


def _expand(paths: Sequence[str | Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        text = str(p)
        matches = sorted(glob.glob(text)) if any(c in text for c in "*?[") else [text]
        if not matches:
            raise DataError(f"no file matches {text!r}; check the path or the glob pattern")
        for m in matches:
            path = Path(m)
            if path.is_dir():
                out += sorted(x for x in path.iterdir() if x.suffix.lower() in (".csv", ".parquet"))
            elif not path.exists():
                raise DataError(f"file {m} does not exist; check the path")
            else:
                out.append(path)
    if not out:
        raise EmptyDataError("no CSV or Parquet files found; check the path")
    return out


def read_production(data: Any, model_name: str, *, since: Any = None,
                    until: Any = None) -> pd.DataFrame:
    """A pandas frame of production rows from any supported source.

    ``data`` may be a pandas/polars DataFrame, a pyarrow Table, a dict of arrays, a path or
    glob (or list of them) to CSV/Parquet files, or a prediction-log URL
    (``sqlite:///...``, ``postgresql://...``) read with ``PredictionLog.read_frame``.
    """
    if isinstance(data, pd.DataFrame):
        return data
    if is_log_url(data):
        from modelsteward.store import PredictionLog

        return PredictionLog(str(data)).read_frame(model_name, since=since, until=until)
    if isinstance(data, (str, Path)):
        files = _expand([data])
    elif isinstance(data, Sequence) and data and all(isinstance(x, (str, Path)) for x in data):
        files = _expand(list(data))
    elif hasattr(data, "to_pandas"):  # polars, pyarrow
        return data.to_pandas()
    elif isinstance(data, Mapping):
        try:
            return pd.DataFrame({k: np.asarray(v) for k, v in data.items()})
        except ValueError as exc:
            raise DataError(f"columns have different lengths ({exc}); align them") from exc
    else:
        raise UnsupportedInputError(
            f"cannot read production data of type {type(data).__name__}; pass a DataFrame, "
            "CSV/Parquet path(s) or glob, or a prediction-log URL"
        )
    return pd.concat([_read_file(f) for f in files], ignore_index=True)


def attach_outcomes(frame: pd.DataFrame, outcomes: Any, column: str) -> pd.DataFrame:
    """Return ``frame`` with an outcome column named ``column``.

    ``outcomes`` may be None (use ``frame[column]`` if present), a column name, an array
    aligned with the rows, or a mapping / frame keyed by ``prediction_id``.
    """
    if outcomes is None:
        return frame
    if isinstance(outcomes, str):
        if outcomes not in frame.columns:
            raise DataError(f"outcome column {outcomes!r} is not in the data; "
                            f"columns are {', '.join(map(str, frame.columns[:20]))}")
        return frame.assign(**{column: pd.to_numeric(frame[outcomes], errors="coerce")})
    if isinstance(outcomes, pd.DataFrame) or isinstance(outcomes, Mapping):
        if "prediction_id" not in frame.columns:
            raise DataError("outcomes keyed by prediction_id need a prediction_id column in the "
                            "data; pass an aligned array instead")
        if isinstance(outcomes, pd.DataFrame):
            if not {"prediction_id", "outcome"} <= set(outcomes.columns):
                raise DataError("an outcomes frame needs columns prediction_id and outcome")
            mapping = dict(zip(outcomes["prediction_id"].astype(str), outcomes["outcome"],
                               strict=True))
        else:
            mapping = {str(k): v for k, v in outcomes.items()}
        values = frame["prediction_id"].astype(str).map(mapping)
        return frame.assign(**{column: pd.to_numeric(values, errors="coerce")})
    arr = np.asarray(outcomes, dtype=float)
    if arr.shape != (len(frame),):
        raise DataError(f"outcomes has {arr.size} values but the data has {len(frame)} rows; "
                        "they must align")
    return frame.assign(**{column: arr})
