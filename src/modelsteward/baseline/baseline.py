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

from modelsteward._params import MODE, ROW_LIMIT, InstanceOf, Interval, validate_params
from modelsteward._types import DataLike
from modelsteward.baseline.columns import KINDS, as_columns, check_fit_columns
from modelsteward.baseline.concept import ConceptReference
from modelsteward.baseline.joint import MIN_ROWS, JointReference
from modelsteward.baseline.manifest import (
    check_profile_arrays,
    load_npy,
    read_manifest,
    validate_manifest,
)
from modelsteward.baseline.profile import FITTED, ColumnProfile, profile_column
from modelsteward.baseline.sketch import SketchProfile
from modelsteward.baseline.sketch_baseline import (
    choose_fit_mode,
    column_profile_from_sketch,
    joint_from_sampler,
    sketch_profile_of,
)
from modelsteward.errors import BaselineError, BaselineFormatError, EmptyDataError
from modelsteward.io import DEFAULT_BATCH_SIZE
from modelsteward.stats.psi import N_BINS

__all__ = [
    "BASELINE_FILE",
    "FORMAT_VERSION",
    "Baseline",
    "baseline_from_profile",
    "fit_sketch_baseline",
]

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


def _fit_concept(predictions: Any, outcomes: Any) -> ConceptReference | None:
    """The concept reference of a held-out split, or None when neither side is given."""
    if predictions is None and outcomes is None:
        return None
    if predictions is None or outcomes is None:
        raise BaselineError("pass both predictions and outcomes, or neither")
    return ConceptReference.fit(predictions, outcomes)


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
    @validate_params(
        {
            "n_bins": N_BINS,
            "mode": MODE,
            "exact_max_rows": ROW_LIMIT,
            "sketch_k": [Interval("int", 8, 2**20), None],
            "kinds": [InstanceOf((Mapping,), "a mapping of column name to kind"), None],
            "metadata": [InstanceOf((Mapping,), "a mapping of str to str"), None],
        }
    )
    def fit(
        cls,
        data: DataLike,
        kinds: Mapping[str, str] | None = None,
        *,
        predictions: np.ndarray | None = None,
        outcomes: np.ndarray | None = None,
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
        most ``sample_size`` rows) for the multivariate drift checks; in sketch mode it is
        fitted on a reservoir sample of ``sample_size`` rows collected while profiling.
        """
        chosen, data = choose_fit_mode(data, mode, exact_max_rows)
        if chosen == "sketch":
            return fit_sketch_baseline(
                data,
                kinds,
                n_bins=n_bins,
                k=sketch_k,
                predictions=predictions,
                outcomes=outcomes,
                metadata=metadata,
                joint=joint,
                sample_size=sample_size,
            )
        cols = as_columns(data)
        kinds = dict(kinds or {})
        check_fit_columns(cols, kinds)
        for name, kind in kinds.items():
            if kind not in KINDS:
                raise BaselineError(f"kinds[{name!r}] = {kind!r}; use 'numeric' or 'categorical'")
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
        concept = _fit_concept(predictions, outcomes)
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
        profiles = list(self.columns.values())
        workers = min(os.cpu_count() or 1, 4, len(profiles))
        if workers > 1 and sum(p.n_rows for p in profiles) >= 400_000:  # numpy releases the GIL
            with ThreadPoolExecutor(max_workers=workers) as pool:
                fitted = list(pool.map(ColumnProfile.fitted_state, profiles))
        else:
            fitted = [p.fitted_state() for p in profiles]
        for i, profile in enumerate(profiles):
            entry: dict[str, Any] = {k: _json_scalar(getattr(profile, k)) for k in _SCALAR_FIELDS}
            arrays: dict[str, str] = {}
            for key in _ARRAY_FIELDS:
                arr = getattr(profile, key)
                if arr is not None:
                    fname = f"col{i:05d}.{key}.npy"
                    np.save(out / fname, np.ascontiguousarray(arr), allow_pickle=False)
                    arrays[key] = fname
            entry["arrays"] = arrays
            extra = {**profile.extra, **fitted[i]}
            entry["extra"] = _save_extra(out, f"col{i:05d}", extra)
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
        """Read a baseline written by :meth:`save`, validated first: the manifest against its
        schema, each array against its header, file size and the manifest (see
        :mod:`modelsteward.baseline.manifest`); anything else is a BaselineFormatError."""
        root = Path(directory)
        if root.is_file() and root.name == BASELINE_FILE:
            root = root.parent
        path = root / BASELINE_FILE
        if not path.is_file():
            raise BaselineFormatError(
                f"no {BASELINE_FILE} in {root}; point to the directory Baseline.save wrote"
            )
        doc = read_manifest(path)
        if not isinstance(doc, dict) or doc.get("format") != "modelsteward.baseline":
            raise BaselineFormatError(f"{path} is not a modelsteward baseline")
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise BaselineFormatError(
                f"{path} has format version {version!r}; this modelsteward reads version "
                f"{FORMAT_VERSION} (upgrade modelsteward or refit the baseline)"
            )
        validate_manifest(doc, path)
        try:
            return cls._from_manifest(root, path, doc)
        except BaselineError:
            raise
        except (KeyError, TypeError, ValueError, OSError) as exc:  # a gap in the schema
            raise BaselineFormatError(
                f"{path} is incomplete or corrupt ({type(exc).__name__}: {exc}); refit and save "
                "the baseline again"
            ) from None

    @classmethod
    def _from_manifest(cls, root: Path, path: Path, doc: dict[str, Any]) -> Baseline:
        """The baseline of a validated manifest (arrays checked as they are loaded)."""
        profiles: dict[str, ColumnProfile] = {}
        for i, entry in enumerate(doc["columns"]):
            at = f"columns[{i}]"
            kwargs: dict[str, Any] = {k: entry[k] for k in _SCALAR_FIELDS if k in entry}
            arrays: dict[str, np.ndarray] = {}
            for key, fname in entry.get("arrays", {}).items():
                kinds = "iu" if key == "psi_reference_counts" else "f"
                arrays[key] = load_npy(root / fname, f"{at}.arrays.{key}", kinds)
            check_profile_arrays(path, at, entry, arrays)
            kwargs.update(arrays)
            extra = _load_extra(root, entry.get("extra", {}), at)
            fitted = {k: v for k, v in extra.items() if k.startswith(FITTED)}
            kwargs["extra"] = {k: v for k, v in extra.items() if k not in fitted}
            for k in ("mean", "variance", "minimum", "maximum"):
                kwargs[k] = float(kwargs[k])
            if kwargs.get("category_counts") is not None:
                kwargs["category_counts"] = {
                    str(k): int(v) for k, v in kwargs["category_counts"].items()
                }
            profile = ColumnProfile(**kwargs)
            profile.restore_fitted(fitted, f"{path} ({at}.extra)")
            if profile.mode == "sketch":  # decode (and keep) the sketch now: corrupt -> here
                try:
                    profile.sketch()
                except BaselineError as exc:
                    spec = entry.get("extra", {}).get("sketch", {})
                    where = root / spec["bin"] if "bin" in spec else path
                    raise BaselineFormatError(f"{where} ({at}.extra.sketch): {exc}") from None
            profiles[str(entry["name"])] = profile
        concept = doc.get("concept")
        return cls(
            columns=profiles,
            concept=None if concept is None else ConceptReference.from_dict(concept),
            created_at=datetime.fromisoformat(doc["created_at"]),
            metadata={str(k): str(v) for k, v in doc.get("metadata", {}).items()},
            n_bins=int(doc.get("n_bins", 10)),
            joint=JointReference.load(root, doc["joint"]) if doc.get("joint") else None,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no raw arrays)."""
        return {
            "created_at": self.created_at.isoformat(),
            "n_bins": self.n_bins,
            "metadata": dict(self.metadata),
            "concept": None if self.concept is None else self.concept.to_dict(),
            "columns": [p.to_dict() for p in self.columns.values()],
            "joint": None if self.joint is None else self.joint.to_dict(),
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


def _load_extra(root: Path, saved: Mapping[str, Any], at: str = "extra") -> dict[str, Any]:
    extra: dict[str, Any] = {}
    for key, spec in saved.items():
        if "npy" in spec and _safe_name(spec["npy"]):
            extra[key] = load_npy(root / spec["npy"], f"{at}.extra.{key}", "biuf", one_dim=False)
        elif "bin" in spec and _safe_name(spec["bin"]):
            try:
                extra[key] = (root / spec["bin"]).read_bytes()
            except OSError as exc:
                raise BaselineFormatError(f"{root / spec['bin']} ({at}.extra.{key}) cannot be "
                                          f"read ({exc}); refit and save the baseline") from None
        elif "json" in spec:
            extra[key] = spec["json"]
        else:
            raise BaselineFormatError(f"bad extra field {key!r} in the baseline")
    return extra


def baseline_from_profile(
    profile: SketchProfile,
    *,
    n_bins: int = 10,
    concept: ConceptReference | None = None,
    metadata: Mapping[str, str] | None = None,
    joint: JointReference | None = None,
) -> Baseline:
    """A sketch-mode :class:`Baseline` from a (merged) :class:`SketchProfile` (and, for the
    multivariate checks, a joint reference fitted on a row sample)."""
    if not profile.columns:
        raise EmptyDataError("cannot fit a baseline on data without columns")
    if profile.n_rows == 0:
        raise EmptyDataError("cannot fit a baseline on data without rows")
    cols = {name: column_profile_from_sketch(sk, n_bins) for name, sk in profile.columns.items()}
    meta = {"baseline_mode": "sketch", "sketch_k": str(profile.k), **dict(metadata or {})}
    return Baseline(columns=cols, concept=concept, metadata=meta, n_bins=int(n_bins), joint=joint)


@validate_params({"n_bins": N_BINS, "k": [Interval("int", 8, 2**20), None],
                  "batch_size": [Interval("int", 1, None)],
                  "sample_size": [Interval("int", MIN_ROWS, None)]})
def fit_sketch_baseline(
    data: DataLike,
    kinds: Mapping[str, str] | None = None,
    *,
    n_bins: int = 10,
    k: int | None = None,
    predictions: np.ndarray | None = None,
    outcomes: np.ndarray | None = None,
    metadata: Mapping[str, str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    joint: bool = False,
    sample_size: int = 20_000,
) -> Baseline:
    """Fit a sketch-mode baseline from a dataset source or in-memory data (in batches);
    ``joint=True`` also fits the :class:`JointReference` on a reservoir of rows."""
    profile, sampler = sketch_profile_of(data, kinds, k=k, batch_size=batch_size, joint=joint,
                                         sample_size=sample_size)
    concept = _fit_concept(predictions, outcomes)
    joint_ref = None if sampler is None else joint_from_sampler(sampler, sample_size)
    return baseline_from_profile(profile, n_bins=n_bins, concept=concept, metadata=metadata,
                                 joint=joint_ref)
