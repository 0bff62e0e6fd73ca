"""The fitted reference of a model: one :class:`ColumnProfile` per feature, fitted once.

Saved as ``baseline.json`` plus one ``.npy`` file per array (never pickle), with a format
version; a saved baseline reloads to identical drift results.

    >>> import numpy as np, tempfile
    >>> b = Baseline.fit({"x": np.arange(100.0), "c": np.array(["a", "b"] * 50)})
    >>> b.feature_names, b.columns["c"].kind
    (['x', 'c'], 'categorical')
    >>> d = tempfile.mkdtemp()
    >>> Baseline.load(b.save(d)).columns["x"].n_distinct
    100
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from modelsteward.baseline.columns import KINDS, as_columns
from modelsteward.baseline.concept import ConceptReference
from modelsteward.baseline.joint import JointReference
from modelsteward.baseline.profile import ColumnProfile, profile_column
from modelsteward.errors import BaselineError, BaselineFormatError, EmptyDataError

__all__ = ["Baseline", "FORMAT_VERSION", "BASELINE_FILE"]

FORMAT_VERSION = 1
BASELINE_FILE = "baseline.json"
_ARRAY_FIELDS = ("sorted_values", "psi_edges", "psi_reference_counts")
_SCALAR_FIELDS = (
    "name",
    "kind",
    "n_rows",
    "n_null",
    "mean",
    "variance",
    "minimum",
    "maximum",
    "n_distinct",
    "category_counts",
    "mode",
    "n_inf",
)


@dataclass(eq=False)
class Baseline:
    """Profiles per column in fit order, an optional concept reference, and metadata."""

    columns: dict[str, ColumnProfile]
    concept: ConceptReference | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    metadata: dict[str, str] = field(default_factory=dict)
    n_bins: int = 10
    joint: JointReference | None = None  # multivariate drift state (fit with joint=True)

    @property
    def feature_names(self) -> list[str]:
        """Column names in fit order."""
        return list(self.columns)

    @property
    def kinds(self) -> dict[str, str]:
        """``{name: "numeric" | "categorical"}``, as fitted."""
        return {n: p.kind for n, p in self.columns.items()}

    def __getitem__(self, name: str) -> ColumnProfile:
        return self.columns[name]

    def __repr__(self) -> str:
        return (
            f"Baseline({len(self.columns)} columns, "
            f"created_at={self.created_at.isoformat()}, concept={self.concept is not None})"
        )

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(
        cls,
        data: Any,
        kinds: Mapping[str, str] | None = None,
        *,
        predictions: Any = None,
        outcomes: Any = None,
        n_bins: int = 10,
        metadata: Mapping[str, str] | None = None,
        mode: str = "auto",
        exact_max_rows: int | None = None,
        sketch_k: int | None = None,
        joint: bool = False,
        sample_size: int = 20_000,
    ) -> Baseline:
        """Fit one profile per column of ``data`` (dict of arrays, pandas, polars, pyarrow).

        ``kinds`` overrides the inferred kind of some columns (``{"zip": "categorical"}``).
        With ``predictions`` and ``outcomes`` (the held-out split), a
        :class:`ConceptReference` is fitted too.

        ``data`` may also be Parquet/CSV files (a path, directory, glob or list), read batch
        by batch. ``mode``: ``"exact"``, ``"sketch"`` (mergeable sketches, bounded memory;
        see :mod:`modelsteward.baseline.sketch_baseline`) or ``"auto"``: exact up to
        ``exact_max_rows`` rows (default 10,000,000), sketches above.

        ``joint=True`` also fits a :class:`JointReference` (PCA and a reference sample of at
        most ``sample_size`` rows) for the multivariate drift checks (exact mode only; in
        sketch mode fit one from a sample and set ``baseline.joint``).
        """
        from modelsteward.baseline import sketch_baseline as _sketch

        chosen, data = _sketch.choose_fit_mode(data, mode, exact_max_rows)
        if chosen == "sketch":
            if joint:
                raise BaselineError("joint=True needs exact mode; fit JointReference.fit(sample)"
                                    " on a row sample and assign it to baseline.joint")
            return _sketch.fit_sketch_baseline(
                data,
                kinds,
                n_bins=n_bins,
                k=sketch_k,
                predictions=predictions,
                outcomes=outcomes,
                metadata=metadata,
            )
        cols = as_columns(data)
        if not cols:
            raise EmptyDataError("cannot fit a baseline on data without columns")
        kinds = dict(kinds or {})
        unknown = sorted(set(kinds) - set(cols))
        if unknown:
            raise BaselineError(
                f"kinds names columns that are not in the data: {unknown}; "
                f"the columns are {list(cols)[:20]}"
            )
        for name, kind in kinds.items():
            if kind not in KINDS:
                raise BaselineError(f"kinds[{name!r}] = {kind!r}; use 'numeric' or 'categorical'")
        if int(n_bins) != n_bins or n_bins < 1:
            raise BaselineError(f"n_bins must be a positive integer, got {n_bins!r}")
        if all(v.shape[0] == 0 for v in cols.values()):
            raise EmptyDataError("cannot fit a baseline on data without rows")
        names = list(cols)
        total = sum(int(v.shape[0]) for v in cols.values())

        def fit_one(name: str) -> ColumnProfile:
            return profile_column(name, cols[name], kinds.get(name), n_bins)

        if total >= 400_000 and len(names) > 1 and (os.cpu_count() or 1) > 1:
            # numpy's sort releases the GIL: profile columns in two or more threads
            workers = min(os.cpu_count() or 1, 4, len(names))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                fitted = list(pool.map(fit_one, names))
        else:
            fitted = [fit_one(n) for n in names]
        profiles = dict(zip(names, fitted, strict=True))
        concept = None
        if predictions is not None or outcomes is not None:
            if predictions is None or outcomes is None:
                raise BaselineError("pass both predictions and outcomes, or neither")
            concept = ConceptReference.fit(predictions, outcomes)
        joint_ref = JointReference.fit(cols, kinds, sample_size=sample_size) if joint else None
        return cls(
            columns=profiles, concept=concept, metadata=dict(metadata or {}), n_bins=int(n_bins),
            joint=joint_ref,
        )

    # ------------------------------------------------------------------ save / load
    def save(self, directory: str | Path) -> Path:
        """Write ``baseline.json`` and the ``.npy`` arrays into ``directory`` (created)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        columns = []
        for i, profile in enumerate(self.columns.values()):
            entry: dict[str, Any] = {k: _json_scalar(getattr(profile, k)) for k in _SCALAR_FIELDS}
            arrays: dict[str, str] = {}
            for key in _ARRAY_FIELDS:
                arr = getattr(profile, key)
                if arr is not None:
                    fname = f"col{i:05d}.{key}.npy"
                    np.save(out / fname, np.ascontiguousarray(arr), allow_pickle=False)
                    arrays[key] = fname
            entry["arrays"] = arrays
            entry["extra"] = _save_extra(out, f"col{i:05d}", profile.extra)
            columns.append(entry)
        doc = {
            "format": "modelsteward.baseline",
            "format_version": FORMAT_VERSION,
            "created_at": self.created_at.isoformat(),
            "n_bins": self.n_bins,
            "metadata": {str(k): str(v) for k, v in self.metadata.items()},
            "concept": None if self.concept is None else self.concept.to_dict(),
            "columns": columns,
        }
        if self.joint is not None:
            doc["joint"] = self.joint.save(out)
        (out / BASELINE_FILE).write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Baseline:
        """Read a baseline written by :meth:`save`."""
        root = Path(directory)
        if root.is_file() and root.name == BASELINE_FILE:
            root = root.parent
        path = root / BASELINE_FILE
        if not path.is_file():
            raise BaselineFormatError(
                f"no {BASELINE_FILE} in {root}; point to the directory Baseline.save wrote"
            )
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise BaselineFormatError(f"{path} is not valid JSON ({exc})") from None
        if not isinstance(doc, dict) or doc.get("format") != "modelsteward.baseline":
            raise BaselineFormatError(f"{path} is not a modelsteward baseline")
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise BaselineFormatError(
                f"{path} has format version {version!r}; this modelsteward reads version "
                f"{FORMAT_VERSION} (upgrade modelsteward or refit the baseline)"
            )
        try:
            profiles: dict[str, ColumnProfile] = {}
            for entry in doc["columns"]:
                kwargs: dict[str, Any] = {k: entry[k] for k in _SCALAR_FIELDS if k in entry}
                for key, fname in entry.get("arrays", {}).items():
                    if key not in _ARRAY_FIELDS or not _safe_name(fname):
                        raise BaselineFormatError(f"{path}: bad array entry {key!r}: {fname!r}")
                    kwargs[key] = np.load(root / fname, allow_pickle=False)
                kwargs["extra"] = _load_extra(root, entry.get("extra", {}))
                for k in ("mean", "variance", "minimum", "maximum"):
                    kwargs[k] = float(kwargs[k])
                if kwargs.get("category_counts") is not None:
                    kwargs["category_counts"] = {
                        str(k): int(v) for k, v in kwargs["category_counts"].items()
                    }
                profiles[str(entry["name"])] = ColumnProfile(**kwargs)
            concept = doc.get("concept")
            return cls(
                columns=profiles,
                concept=None if concept is None else ConceptReference.from_dict(concept),
                created_at=datetime.fromisoformat(doc["created_at"]),
                metadata={str(k): str(v) for k, v in doc.get("metadata", {}).items()},
                n_bins=int(doc.get("n_bins", 10)),
                joint=JointReference.load(root, doc["joint"]) if doc.get("joint") else None,
            )
        except BaselineFormatError:
            raise
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise BaselineFormatError(
                f"{path} is incomplete or corrupt ({type(exc).__name__}: {exc}); refit and save "
                "the baseline again"
            ) from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no raw arrays)."""
        return {
            "created_at": self.created_at.isoformat(),
            "n_bins": self.n_bins,
            "metadata": dict(self.metadata),
            "concept": None if self.concept is None else self.concept.to_dict(),
            "columns": [p.to_dict() for p in self.columns.values()],
        }


def _json_scalar(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise BaselineError(f"cannot save a non-finite number ({value}) in a baseline")
    return value


def _safe_name(fname: Any) -> bool:
    return (
        isinstance(fname, str)
        and re.fullmatch(r"[A-Za-z0-9_.\-]+", fname) is not None
        and ".." not in fname
    )


def _save_extra(out: Path, prefix: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Extension fields (e.g. sketch mode): arrays -> .npy, bytes -> .bin, the rest JSON."""
    saved: dict[str, Any] = {}
    for key, value in extra.items():
        if not re.fullmatch(r"[A-Za-z0-9_]+", key):
            raise BaselineError(f"extra field name {key!r} must be alphanumeric")
        if isinstance(value, np.ndarray):
            fname = f"{prefix}.extra.{key}.npy"
            np.save(out / fname, value, allow_pickle=False)
            saved[key] = {"npy": fname}
        elif isinstance(value, (bytes, bytearray)):
            fname = f"{prefix}.extra.{key}.bin"
            (out / fname).write_bytes(bytes(value))
            saved[key] = {"bin": fname}
        else:
            saved[key] = {"json": value}
    return saved


def _load_extra(root: Path, saved: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, spec in saved.items():
        if "npy" in spec and _safe_name(spec["npy"]):
            extra[key] = np.load(root / spec["npy"], allow_pickle=False)
        elif "bin" in spec and _safe_name(spec["bin"]):
            extra[key] = (root / spec["bin"]).read_bytes()
        elif "json" in spec:
            extra[key] = spec["json"]
        else:
            raise BaselineFormatError(f"bad extra field {key!r} in the baseline")
    return extra
