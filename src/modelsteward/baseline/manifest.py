"""Validation of a saved baseline before anything in it is used: the manifest
(``baseline.json``) against an explicit schema, every ``.npy`` array against its header, its
file size and the manifest.

A tampered or truncated directory gives a :class:`~modelsteward.errors.BaselineFormatError`
naming the file and the field, never a raw ``TypeError``, ``RecursionError`` or
``MemoryError``: the ``.npy`` header is read first and its ``shape x itemsize`` must equal the
bytes the file holds, so a 100-byte file claiming 1e11 values is refused before any
allocation. Arrays are loaded with ``allow_pickle=False``; object dtypes are refused.

    >>> import numpy as np, tempfile
    >>> from modelsteward.baseline import Baseline
    >>> d = Baseline.fit({"x": np.arange(5.0)}).save(tempfile.mkdtemp())
    >>> doc = read_manifest(d / "baseline.json")
    >>> validate_manifest(doc, d / "baseline.json")["columns"][0]["name"]
    'x'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from modelsteward._params import MAX_BINS
from modelsteward.baseline.columns import CATEGORICAL, KINDS, NUMERIC
from modelsteward.errors import BaselineFormatError

__all__ = ["ARRAY_FIELDS", "load_npy", "read_manifest", "validate_manifest"]

ARRAY_FIELDS = ("sorted_values", "psi_edges", "psi_reference_counts")
MODES = ("exact", "sketch")
TASKS = ("binary", "numeric", "multiclass", "regression")  # numeric: version-1 name of regression
_INT_MAX = 2**63 - 1
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_KEY = re.compile(r"[A-Za-z0-9_]+")


def _fail(path: Path, field: str, problem: str) -> BaselineFormatError:
    return BaselineFormatError(
        f"{path}: {field} {problem}; the baseline directory was altered or is corrupt, "
        "refit and save the baseline again"
    )


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number (a saved baseline holds finite numbers only)")


def read_manifest(path: Path) -> Any:
    """The parsed JSON of ``baseline.json``; unreadable, invalid, non-finite numbers or
    nesting too deep for the parser are a BaselineFormatError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BaselineFormatError(
            f"{path} is nested too deeply to be a baseline manifest; refit and save the "
            "baseline again"
        ) from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
        raise BaselineFormatError(f"{path} is not valid JSON ({exc})") from None


# --- scalar checks ---------------------------------------------------------------------------
def _int(path: Path, field: str, v: Any, lo: int = 0, hi: int = _INT_MAX) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _fail(path, field, f"must be an integer in [{lo}, {hi}], got {_short(v)}")
    return v


def _real(path: Path, field: str, v: Any, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _fail(path, field, f"must be a number, got {_short(v)}")
    f = float(v)
    if not (math.isfinite(f) and lo <= f <= hi):
        raise _fail(path, field, f"must be a finite number in [{lo}, {hi}], got {_short(v)}")
    return f


def _str(path: Path, field: str, v: Any, options: tuple[str, ...] | None = None) -> str:
    if not isinstance(v, str):
        raise _fail(path, field, f"must be a string, got {_short(v)}")
    if options is not None and v not in options:
        raise _fail(path, field, f"must be one of {list(options)}, got {_short(v)}")
    return v


def _dict(path: Path, field: str, v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _fail(path, field, f"must be an object, got {type(v).__name__}")
    return v


def _short(v: Any) -> str:
    s = repr(v)
    return s if len(s) <= 60 else s[:57] + "..."


def _file_name(path: Path, field: str, v: Any) -> str:
    if not isinstance(v, str) or _NAME.fullmatch(v) is None or ".." in v:
        raise _fail(path, field, f"must be a plain file name in the baseline directory, got "
                    f"{_short(v)}")
    return v


# --- the schema ------------------------------------------------------------------------------
def validate_manifest(doc: Any, path: Path) -> dict[str, Any]:
    """Check the manifest's structure and types (the format and version are checked by the
    caller first); return it unchanged."""
    doc = _dict(path, "the manifest", doc)
    _int(path, "n_bins", doc.get("n_bins", 10), 1, MAX_BINS)
    created = _str(path, "created_at", doc.get("created_at"))
    try:
        datetime.fromisoformat(created)
    except ValueError:
        raise _fail(path, "created_at", f"is not an ISO date-time: {_short(created)}") from None
    for k, v in _dict(path, "metadata", doc.get("metadata", {})).items():
        _str(path, f"metadata[{k!r}]", v)
    if doc.get("concept") is not None:
        _concept(path, doc["concept"])
    columns = doc.get("columns")
    if not isinstance(columns, list):
        raise _fail(path, "columns", f"must be a list, got {type(columns).__name__}")
    seen: set[str] = set()
    for i, entry in enumerate(columns):
        name = _column(path, f"columns[{i}]", entry)
        if name in seen:
            raise _fail(path, f"columns[{i}].name", f"repeats the column name {name!r}")
        seen.add(name)
    return doc


def _concept(path: Path, c: Any) -> None:
    c = _dict(path, "concept", c)
    _real(path, "concept.correlation", c.get("correlation"), -1.0, 1.0)
    _int(path, "concept.n", c.get("n"))
    _str(path, "concept.task", c.get("task"), TASKS)
    for k, v in _dict(path, "concept.metrics", c.get("metrics", {})).items():
        _real(path, f"concept.metrics[{k!r}]", v)


def _column(path: Path, at: str, entry: Any) -> str:
    e = _dict(path, at, entry)
    name = _str(path, f"{at}.name", e.get("name"))
    kind = _str(path, f"{at}.kind", e.get("kind"), KINDS)
    _str(path, f"{at}.mode", e.get("mode", "exact"), MODES)
    n_rows = _int(path, f"{at}.n_rows", e.get("n_rows"))
    _int(path, f"{at}.n_null", e.get("n_null"), 0, n_rows)
    _int(path, f"{at}.n_distinct", e.get("n_distinct", 0))
    _int(path, f"{at}.n_inf", e.get("n_inf", 0), 0, n_rows)
    for k in ("mean", "minimum", "maximum"):
        _real(path, f"{at}.{k}", e.get(k))
    _real(path, f"{at}.variance", e.get("variance"), 0.0)
    counts = e.get("category_counts")
    if counts is not None:
        if kind != CATEGORICAL:
            raise _fail(path, f"{at}.category_counts", f"is set on a {kind} column")
        total = 0
        for k, v in _dict(path, f"{at}.category_counts", counts).items():
            total += _int(path, f"{at}.category_counts[{_short(k)}]", v)
        n_valid = n_rows - int(e["n_null"])
        if e.get("mode", "exact") == "exact" and total != n_valid:
            raise _fail(path, f"{at}.category_counts", f"add up to {total}, but the manifest "
                        f"says {n_valid} non-null values")
    arrays = _dict(path, f"{at}.arrays", e.get("arrays", {}))
    for key, fname in arrays.items():
        if key not in ARRAY_FIELDS:
            raise _fail(path, f"{at}.arrays", f"has an unknown array {_short(key)}")
        if kind != NUMERIC:
            raise _fail(path, f"{at}.arrays.{key}", f"is set on a {kind} column")
        _file_name(path, f"{at}.arrays.{key}", fname)
    for key, spec in _dict(path, f"{at}.extra", e.get("extra", {})).items():
        if not isinstance(key, str) or _KEY.fullmatch(key) is None:
            raise _fail(path, f"{at}.extra", f"has a bad field name {_short(key)}")
        spec = _dict(path, f"{at}.extra.{key}", spec)
        if len(spec) != 1 or next(iter(spec)) not in ("npy", "bin", "json"):
            raise _fail(path, f"{at}.extra.{key}", "must be one of {npy|bin|json: ...}")
        if "npy" in spec or "bin" in spec:
            _file_name(path, f"{at}.extra.{key}", next(iter(spec.values())))
    return name


# --- arrays ----------------------------------------------------------------------------------
def load_npy(file: Path, field: str, kinds: str, *, one_dim: bool = True) -> np.ndarray:
    """Load a ``.npy`` file after checking its header against its size.

    ``kinds`` are the accepted numpy dtype kinds (e.g. ``"f"``, ``"iu"``). The header's
    ``shape x itemsize`` must equal the bytes after the header, so nothing is allocated for
    a header that lies.
    """
    try:
        size = file.stat().st_size
        with open(file, "rb") as fp:
            version = npy_format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = npy_format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = npy_format.read_array_header_2_0(fp)
            else:
                raise _fail(file, field, f"has an unsupported .npy version {version}")
            offset = fp.tell()
    except BaselineFormatError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise _fail(file, field, f"is not a readable .npy file ({exc})") from None
    if dtype.hasobject or dtype.kind not in kinds:
        raise _fail(file, field, f"has dtype {dtype}; expected kind {kinds!r} (numbers only)")
    if one_dim and len(shape) != 1:
        raise _fail(file, field, f"has shape {shape}; expected a one-dimensional array")
    n = math.prod(shape)
    if n * dtype.itemsize != size - offset:
        raise _fail(
            file, field, f"header claims {n} values of {dtype.itemsize} bytes but the file "
            f"holds {size - offset} bytes of data"
        )
    try:
        arr = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise _fail(file, field, f"cannot be read ({exc})") from None
    if arr.shape != tuple(shape) or arr.dtype != dtype:  # changed between the two reads
        raise _fail(file, field, "changed while it was read")
    return arr


def check_profile_arrays(
    path: Path, at: str, entry: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> None:
    """Arrays against the manifest: lengths, order, and counts that add up."""
    n_valid = int(entry["n_rows"]) - int(entry["n_null"])
    exact = entry.get("mode", "exact") == "exact"
    values = arrays.get("sorted_values")
    if values is not None:
        if values.shape[0] != n_valid:
            raise _fail(path, f"{at}.sorted_values", f"holds {values.shape[0]} values but the "
                        f"manifest says {n_valid} non-null values")
        if values.size > 1 and not bool(np.all(values[1:] >= values[:-1])):
            raise _fail(path, f"{at}.sorted_values", "is not sorted ascending (or holds NaN)")
        if values.size and np.isnan(values[0]):
            raise _fail(path, f"{at}.sorted_values", "holds NaN")
    edges = arrays.get("psi_edges")
    counts = arrays.get("psi_reference_counts")
    if (edges is None) != (counts is None):
        raise _fail(path, f"{at}.arrays", "must hold both psi_edges and psi_reference_counts "
                    "or neither")
    if edges is not None and counts is not None:
        if edges.size < 2 or edges.size > MAX_BINS + 1:
            raise _fail(path, f"{at}.psi_edges", f"holds {edges.size} edges; expected 2 to "
                        f"{MAX_BINS + 1}")
        if not (edges[0] == -np.inf and edges[-1] == np.inf
                and bool(np.all(edges[1:] > edges[:-1]))):
            raise _fail(path, f"{at}.psi_edges", "must rise strictly from -inf to +inf")
        if counts.shape[0] != edges.size - 1:
            raise _fail(path, f"{at}.psi_reference_counts", f"holds {counts.shape[0]} counts "
                        f"for {edges.size - 1} bins")
        if (counts < 0).any() or (exact and int(counts.sum()) != n_valid):
            raise _fail(path, f"{at}.psi_reference_counts", "must be non-negative and add up "
                        f"to the {n_valid} non-null values")
