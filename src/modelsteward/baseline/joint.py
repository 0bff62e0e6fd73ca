"""The joint reference: what the features looked like *together* at fit time.

Two things are fitted from the reference rows, for the multivariate drift checks in
:mod:`modelsteward.drift.multivariate`:

* a PCA model: numeric columns with nulls imputed by the training mean, categorical columns
  one-hot encoded on their ``max_categories`` most frequent categories (every other value,
  unseen values and nulls share one "other" column), every encoded column standardised, and
  enough principal components (numpy SVD) to keep ``variance_share`` of the variance
  (default 65%); plus the per-row reconstruction error of reference rows *not* used to fit
  the PCA (the held-out part), so a window's mean error has a reference distribution;
* a uniform random sample of reference rows (at most ``sample_size``, default 20,000) for
  the domain classifier. The sample is a bottom-k reservoir (each row keeps a random key, the
  ``k`` smallest keys win), so samples of partitions or batches merge exactly
  (:func:`merge_samples`).

Everything is saved as JSON plus ``.npy`` files (no pickle).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=2_000)
    >>> ref = JointReference.fit({"x": x, "y": x + rng.normal(size=2_000) * 0.1})
    >>> ref.n_components, ref.encoded_dim, ref.columns
    (1, 2, ['x', 'y'])
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from modelsteward.baseline.columns import (
    CATEGORICAL,
    NUMERIC,
    _category_label,
    as_columns,
    category_counts,
    infer_kind,
    numeric_values,
)
from modelsteward.errors import BaselineError, BaselineFormatError, MissingColumnError

__all__ = ["JointReference", "RowSampler", "merge_samples", "reservoir_keys"]

MIN_ROWS = 50
_ARRAYS = ("center", "scale", "components", "heldout_errors", "heldout_feature_errors",
           "sample", "sample_keys", "explained_variance_ratio")


def reservoir_keys(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform random keys for ``n`` rows; the rows with the smallest keys form the sample."""
    return rng.random(n)


def merge_samples(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two bottom-``k`` samples ``(rows, keys)`` (e.g. of two Spark partitions).

    The result is the bottom-``k`` sample of the union: a uniform sample without replacement.
    """
    rows = np.concatenate([a[0], b[0]], axis=0)
    keys = np.concatenate([a[1], b[1]])
    keep = np.argsort(keys, kind="stable")[:k]
    return rows[keep], keys[keep]


class RowSampler:
    """A bottom-``k`` reservoir of whole rows, fed batch by batch (sketch mode, Spark).

    Memory stays at ``k`` rows plus one batch. Rows keep their raw values (numbers as float,
    categories as their labels, ``None``/NaN = null), so :meth:`JointReference.fit` on
    :meth:`columns` encodes them as it would the full data. Two samplers of disjoint data
    merge (:meth:`merge`, via :func:`merge_samples`) to the sample of the union, which is why
    their keys must come from independent generators (a seed per partition).

        >>> s = RowSampler({"x": "numeric"}, k=10, seed=1)
        >>> s.update({"x": np.arange(1_000.0)}); s.n_seen, len(s)
        (1000, 10)
    """

    def __init__(self, kinds: Mapping[str, str], k: int = 20_000, seed: int = 0) -> None:
        if int(k) != k or k < 1:
            raise BaselineError(f"the sample size must be a whole number >= 1, got {k!r}")
        self.kinds = dict(kinds)
        self.k = int(k)
        self.n_seen = 0
        self._rng = np.random.default_rng(seed)
        self._cols: dict[str, np.ndarray] = {n: self._empty(n) for n in self.kinds}
        self._keys = np.zeros(0)

    def _empty(self, name: str) -> np.ndarray:
        return np.zeros(0) if self.kinds[name] == NUMERIC else np.zeros(0, dtype=object)

    def __len__(self) -> int:
        return int(self._keys.size)

    def columns(self) -> dict[str, np.ndarray]:
        """The sampled rows as ``{column: array}`` (in key order)."""
        return dict(self._cols)

    def _raw(self, name: str, values: np.ndarray) -> np.ndarray:
        if self.kinds[name] == NUMERIC:
            return numeric_values(name, values)
        return np.asarray(values, dtype=object)

    def update(self, cols: Mapping[str, np.ndarray]) -> None:
        """Add one batch (``{column: array}``, every sampled column present)."""
        missing = [n for n in self.kinds if n not in cols]
        if missing:
            raise MissingColumnError(f"column(s) {missing} are not in the batch")
        n = int(next(iter(cols.values())).shape[0]) if cols else 0
        if n == 0:
            return
        self.n_seen += n
        keys = reservoir_keys(n, self._rng)
        keep = np.argpartition(keys, self.k)[: self.k] if n > self.k else np.arange(n)
        batch = {name: self._raw(name, np.asarray(cols[name])[keep]) for name in self.kinds}
        self._absorb(batch, keys[keep])

    def _absorb(self, batch: Mapping[str, np.ndarray], keys: np.ndarray) -> None:
        size = self._keys.size
        idx = np.arange(size + keys.size)[:, None]
        picked, self._keys = merge_samples((idx[:size], self._keys), (idx[size:], keys), self.k)
        rows = picked[:, 0]
        for name in self.kinds:
            both = np.concatenate([self._cols[name], np.asarray(batch[name])])
            self._cols[name] = both[rows]

    def merge(self, other: RowSampler) -> RowSampler:
        """Absorb ``other`` (same columns) in place; returns ``self``."""
        if list(other.kinds) != list(self.kinds):
            raise BaselineError("cannot merge row samples of different columns")
        self.n_seen += other.n_seen
        self._absorb(other._cols, other._keys)
        return self

    # ------------------------------------------------------------------ bytes (Arrow IPC)
    def to_bytes(self) -> bytes:
        """The sample as an Arrow IPC stream (no pickle)."""
        arrays, names = [], []
        for name in self.kinds:
            v = self._cols[name]
            if self.kinds[name] == NUMERIC:
                arrays.append(pa.array(v, pa.float64()))
            else:
                arrays.append(pa.array([None if pd.isna(x) else _category_label(x) for x in v],
                                       pa.string()))
            names.append(name)
        arrays.append(pa.array(self._keys, pa.float64()))
        names.append("__key__")
        meta = {"kinds": json.dumps(self.kinds), "k": str(self.k), "n_seen": str(self.n_seen)}
        table = pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(meta)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        return bytes(sink.getvalue().to_pybytes())

    @classmethod
    def from_bytes(cls, blob: bytes) -> RowSampler:
        """Read what :meth:`to_bytes` wrote."""
        table = pa.ipc.open_stream(pa.py_buffer(blob)).read_all()
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        out = cls(json.loads(meta["kinds"]), int(meta["k"]))
        out.n_seen = int(meta["n_seen"])
        for name in out.kinds:
            col = table.column(name)
            out._cols[name] = (col.to_numpy(zero_copy_only=False).astype(float)
                               if out.kinds[name] == NUMERIC
                               else np.asarray(col.to_pylist(), dtype=object))
        out._keys = table.column("__key__").to_numpy()
        return out


@dataclass(frozen=True)
class EncodedColumn:
    """How one feature enters the joint matrix."""

    name: str
    kind: str
    fill: float = 0.0  # numeric: the training mean that replaces nulls
    categories: tuple[str, ...] = ()  # categorical: the top categories (code = index)

    @property
    def width(self) -> int:
        """Columns in the PCA encoding (1 numeric; one per top category + "other")."""
        return 1 if self.kind == NUMERIC else len(self.categories) + 1

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "fill": self.fill,
                "categories": list(self.categories)}


def _codes(values: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    """Category codes as float: index of a top category, ``len(categories)`` for the rest,
    NaN for nulls."""
    series = pd.Series(values, dtype=object, copy=False)
    null = series.isna().to_numpy()
    lookup = {c: float(i) for i, c in enumerate(categories)}
    other = float(len(categories))
    out = np.full(len(values), np.nan)
    if (~null).any():
        labels = series[~null].map(_category_label)
        out[~null] = labels.map(lookup).fillna(other).to_numpy(dtype=float)
    return out


@dataclass(frozen=True, eq=False)
class JointReference:
    """The fitted joint state (see the module docstring). Build it with :meth:`fit`."""

    encoding: tuple[EncodedColumn, ...]
    center: np.ndarray  # per encoded column, after imputation
    scale: np.ndarray
    components: np.ndarray  # (k, d) principal axes of the standardised encoding
    explained_variance_ratio: np.ndarray  # (k,)
    heldout_errors: np.ndarray  # per held-out reference row: squared reconstruction error
    heldout_feature_errors: np.ndarray  # per feature: mean squared error on the held-out rows
    sample: np.ndarray  # (rows, features) float32: raw values / category codes, NaN = null
    sample_keys: np.ndarray  # reservoir keys of the sample rows
    variance_share: float = 0.65
    sample_size: int = 20_000
    n_fit_rows: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    # ------------------------------------------------------------------ shape
    @property
    def columns(self) -> list[str]:
        return [c.name for c in self.encoding]

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    @property
    def encoded_dim(self) -> int:
        return int(self.center.shape[0])

    def feature_slices(self) -> list[slice]:
        """Where each feature sits in the PCA encoding."""
        out, start = [], 0
        for c in self.encoding:
            out.append(slice(start, start + c.width))
            start += c.width
        return out

    # ------------------------------------------------------------------ encode
    def raw_matrix(self, data: Any, *, allow_missing: bool = True) -> tuple[np.ndarray, list[str]]:
        """``(rows, features)`` float matrix: numeric values and category codes, NaN = null.

        A feature absent from ``data`` becomes all null (and is named in the second return
        value) unless ``allow_missing`` is false.
        """
        cols = data if isinstance(data, dict) and all(
            isinstance(v, np.ndarray) for v in data.values()) else as_columns(data)
        n = next((int(v.shape[0]) for v in cols.values()), 0)
        out = np.empty((n, len(self.encoding)))
        missing: list[str] = []
        for j, col in enumerate(self.encoding):
            if col.name not in cols:
                if not allow_missing:
                    raise MissingColumnError(f"column {col.name!r} is not in the data")
                missing.append(col.name)
                out[:, j] = np.nan
            elif col.kind == NUMERIC:
                out[:, j] = numeric_values(col.name, cols[col.name])
            else:
                out[:, j] = _codes(cols[col.name], col.categories)
        return out, missing

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Standardised PCA encoding of a raw matrix (nulls -> training mean / "other")."""
        n = raw.shape[0]
        parts = []
        for j, col in enumerate(self.encoding):
            v = raw[:, j]
            if col.kind == NUMERIC:
                parts.append(np.where(np.isfinite(v), v, col.fill)[:, None])
            else:
                width = col.width
                codes = np.where(np.isnan(v), width - 1, v).astype(np.int64)
                onehot = np.zeros((n, width))
                onehot[np.arange(n), np.clip(codes, 0, width - 1)] = 1.0
                parts.append(onehot)
        enc = np.concatenate(parts, axis=1) if parts else np.empty((n, 0))
        return (enc - self.center) / self.scale

    def residuals(self, z: np.ndarray) -> np.ndarray:
        """Squared reconstruction residual per row and encoded column."""
        if self.n_components == 0:
            return z**2
        back = (z @ self.components.T) @ self.components
        return (z - back) ** 2

    def feature_errors(self, sq: np.ndarray) -> np.ndarray:
        """Per-row squared residuals summed per feature: (rows, features)."""
        return np.stack([sq[:, s].sum(axis=1) for s in self.feature_slices()], axis=1)

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(
        cls,
        data: Any,
        kinds: Mapping[str, str] | None = None,
        *,
        variance_share: float = 0.65,
        sample_size: int = 20_000,
        max_categories: int = 10,
        max_heldout: int = 100_000,
        seed: int = 0,
    ) -> JointReference:
        """Fit the PCA and the reference sample from reference rows.

        The PCA is fitted on up to ``sample_size // 2`` random rows (at least half of the
        rows when there are fewer); the reconstruction error is measured on up to
        ``max_heldout`` of the other rows. Columns that are entirely null are left out
        (named in ``notes``).
        """
        if not 0.0 < variance_share <= 1.0:
            raise BaselineError(f"variance_share must be in (0, 1], got {variance_share!r}")
        if int(sample_size) != sample_size or sample_size < MIN_ROWS:
            raise BaselineError(f"sample_size must be a whole number >= {MIN_ROWS}, "
                                f"got {sample_size!r}")
        if max_categories < 1:
            raise BaselineError(f"max_categories must be >= 1, got {max_categories!r}")
        cols = as_columns(data)
        if not cols:
            raise BaselineError("cannot fit a joint reference on data without columns")
        kinds = dict(kinds or {})
        n = int(next(iter(cols.values())).shape[0])
        if any(int(v.shape[0]) != n for v in cols.values()):
            raise BaselineError("a joint reference needs columns of equal length (rows)")
        if n < MIN_ROWS:
            raise BaselineError(
                f"a joint reference needs at least {MIN_ROWS} reference rows, got {n}; fit "
                "without joint=True or give more reference data")
        notes: list[str] = []
        encoding: list[EncodedColumn] = []
        for name, values in cols.items():
            kind = kinds.get(name) or infer_kind(values)
            if kind == NUMERIC:
                v = numeric_values(name, values)
                finite = v[np.isfinite(v)]
                if finite.size == 0:
                    notes.append(f"column {name!r} is entirely null: left out of the joint checks")
                    continue
                encoding.append(EncodedColumn(name, NUMERIC, fill=float(finite.mean())))
            elif kind == CATEGORICAL:
                counts, n_null = category_counts(values)
                if not counts:
                    notes.append(f"column {name!r} is entirely null: left out of the joint checks")
                    continue
                top = sorted(counts, key=lambda k: (-counts[k], k))[:max_categories]
                if len(counts) > len(top):
                    notes.append(f"column {name!r}: {len(counts) - len(top)} rarer categories "
                                 "share the 'other' column")
                encoding.append(EncodedColumn(name, CATEGORICAL, categories=tuple(top)))
            else:
                raise BaselineError(f"kinds[{name!r}] = {kind!r}; use 'numeric' or 'categorical'")
        if not encoding:
            raise BaselineError("every column is entirely null; nothing to fit a joint "
                                "reference on")
        rng = np.random.default_rng(seed)
        keys = reservoir_keys(n, rng)
        order = np.argsort(keys, kind="stable")
        n_fit = min(sample_size // 2, n // 2)
        fit_rows = np.sort(order[:n_fit])
        held_rows = np.sort(order[n_fit:n_fit + max_heldout])
        sample_rows = order[:sample_size]
        proto = cls(tuple(encoding), np.zeros(0), np.ones(0), np.zeros((0, 0)), np.zeros(0),
                    np.zeros(0), np.zeros(0), np.zeros((0, 0), np.float32), np.zeros(0))
        sub = {c.name: cols[c.name] for c in encoding}
        raw_all, _ = proto.raw_matrix(sub)
        enc = proto._unscaled(raw_all)
        center = enc[fit_rows].mean(axis=0)
        scale = enc[fit_rows].std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        z_fit = (enc[fit_rows] - center) / scale
        _, sv, vt = np.linalg.svd(z_fit, full_matrices=False)
        var = sv**2
        total = float(var.sum())
        if total <= 0.0:
            k = 0
            notes.append("every encoded column is constant on the reference: no components; "
                         "any variation in a window counts as reconstruction error")
        else:
            share = np.cumsum(var) / total
            k = int(np.searchsorted(share, variance_share - 1e-12) + 1)
            k = min(k, vt.shape[0])
        if n_fit < enc.shape[1]:
            notes.append(f"fewer PCA rows ({n_fit}) than encoded columns ({enc.shape[1]}): the "
                         "components are fitted on few rows; the held-out error shows it")
        components = vt[:k].copy()
        ratio = (var[:k] / total) if total > 0 else np.zeros(0)
        ref = cls(tuple(encoding), center, scale, components, ratio, np.zeros(0), np.zeros(0),
                  raw_all[sample_rows].astype(np.float32), keys[sample_rows],
                  float(variance_share), int(sample_size), int(n_fit), tuple(notes))
        sq = ref.residuals((enc[held_rows] - center) / scale)
        per_feature = ref.feature_errors(sq)
        return _replace(ref, heldout_errors=sq.sum(axis=1),
                        heldout_feature_errors=per_feature.mean(axis=0))

    def _unscaled(self, raw: np.ndarray) -> np.ndarray:
        ident = _replace(self, center=np.zeros(1), scale=np.ones(1))
        return ident.encode(raw)

    # ------------------------------------------------------------------ io
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (no arrays)."""
        return {
            "columns": [c.to_dict() for c in self.encoding],
            "variance_share": self.variance_share, "n_components": self.n_components,
            "explained_variance": float(self.explained_variance_ratio.sum()),
            "encoded_dim": self.encoded_dim, "n_fit_rows": self.n_fit_rows,
            "n_heldout_rows": int(self.heldout_errors.size),
            "heldout_mean_error": float(self.heldout_errors.mean())
            if self.heldout_errors.size else None,
            "sample_rows": int(self.sample.shape[0]), "sample_size": self.sample_size,
            "notes": list(self.notes),
        }

    def save(self, directory: str | Path, prefix: str = "joint") -> dict[str, Any]:
        """Write the arrays as ``.npy`` into ``directory``; returns the JSON entry."""
        out = Path(directory)
        arrays = {}
        for key in _ARRAYS:
            fname = f"{prefix}.{key}.npy"
            np.save(out / fname, np.ascontiguousarray(getattr(self, key)), allow_pickle=False)
            arrays[key] = fname
        entry = self.to_dict()
        entry["arrays"] = arrays
        return entry

    @classmethod
    def load(cls, directory: str | Path, entry: Mapping[str, Any]) -> JointReference:
        """Read what :meth:`save` wrote (``entry`` is its JSON entry)."""
        root = Path(directory)
        try:
            arrays = {}
            for key in _ARRAYS:
                fname = str(entry["arrays"][key])
                if "/" in fname or "\\" in fname or ".." in fname:
                    raise BaselineFormatError(f"bad joint array file name {fname!r}")
                arrays[key] = np.load(root / fname, allow_pickle=False)
            encoding = tuple(
                EncodedColumn(str(c["name"]), str(c["kind"]), float(c["fill"]),
                              tuple(str(x) for x in c["categories"]))
                for c in entry["columns"])
            ref = cls(encoding, **arrays, variance_share=float(entry["variance_share"]),
                      sample_size=int(entry["sample_size"]), n_fit_rows=int(entry["n_fit_rows"]),
                      notes=tuple(str(x) for x in entry.get("notes", ())))
        except BaselineFormatError:
            raise
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise BaselineFormatError(
                f"the joint reference in {root} is incomplete or corrupt "
                f"({type(exc).__name__}: {exc}); refit the baseline with joint=True") from None
        if ref.center.shape != ref.scale.shape or ref.components.shape[1:] not in (
                (ref.encoded_dim,), (0,)) or ref.sample.shape[1:] != (len(encoding),):
            raise BaselineFormatError(
                f"the joint reference in {root} has inconsistent array shapes; refit the "
                "baseline with joint=True")
        return ref

    def __repr__(self) -> str:
        return json.dumps(self.to_dict())[:200]


def _replace(ref: JointReference, **changes: Any) -> JointReference:
    return replace(ref, **changes)
