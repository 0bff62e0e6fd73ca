"""Training-data characteristics and a data version that changes when any row changes.

MLflow's dataset digest hashes only the first 10,000 rows; :func:`full_digest` hashes all of
them (row values, column names and dtypes)::

    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": range(20_000)})
    >>> b = a.copy(); b.loc[19_999, "x"] = -1
    >>> full_digest(a) != full_digest(b)
    True
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from modelsteward.errors import DataError, EmptyDataError

__all__ = ["as_frame", "as_target", "data_characteristics", "full_digest"]


def as_frame(X: Any, feature_names: list[str] | None = None) -> pd.DataFrame:
    """A DataFrame of features; arrays get the chapter's names ``feature_0..``."""
    if isinstance(X, pd.DataFrame):
        frame = X
    elif hasattr(X, "to_pandas"):
        frame = X.to_pandas()
    else:
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise DataError(
                f"features must be 2-D (rows x columns), got shape {arr.shape}; pass a "
                f"DataFrame or a 2-D array"
            )
        names = feature_names or [f"feature_{i}" for i in range(arr.shape[1])]
        frame = pd.DataFrame(arr, columns=names)
    if len(frame) == 0 or frame.shape[1] == 0:
        raise EmptyDataError(f"features are empty (shape {frame.shape}); pass at least one row")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def as_target(y: Any, n_rows: int, what: str) -> np.ndarray:
    """The target as a 1-D array of ``n_rows`` values."""
    arr = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1 or len(arr) != n_rows:
        raise DataError(
            f"{what} must be 1-D with one value per row ({n_rows}), got shape {arr.shape}"
        )
    return arr


def full_digest(frame: pd.DataFrame) -> str:
    """SHA-256 (hex, first 32 characters) over every row, the column names and dtypes."""
    h = hashlib.sha256()
    h.update("\x1f".join(f"{c}:{t}" for c, t in frame.dtypes.astype(str).items()).encode())
    h.update(str(len(frame)).encode())
    hashed = pd.util.hash_pandas_object(frame, index=False)
    h.update(np.ascontiguousarray(hashed.to_numpy()).tobytes())
    return h.hexdigest()[:32]


def data_characteristics(
    X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame, y_test: np.ndarray,
    task: str,
) -> dict[str, Any]:
    """Sample counts, features, positive rate (binary) and class balance (classification)."""
    out: dict[str, Any] = {
        "train_samples": len(X_train),
        "test_samples": len(X_test),
        "n_features": X_train.shape[1],
        "feature_names": list(X_train.columns),
        "task": task,
    }
    if task != "regression":
        values, counts = np.unique(y_train, return_counts=True)
        balance = {str(v): round(float(c) / len(y_train), 6) for v, c in zip(values, counts,
                                                                              strict=True)}
        out["class_balance"] = balance
        if task == "binary":
            positive = values.max()
            out["positive_rate"] = float(np.mean(y_train == positive))
    else:
        out["target_mean"] = float(np.mean(y_train.astype(float)))
        out["target_std"] = float(np.std(y_train.astype(float)))
    return out
