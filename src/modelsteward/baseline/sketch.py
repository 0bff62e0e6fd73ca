"""Mergeable sketch profiles: the baseline for data that does not fit one machine.

A :class:`SketchProfile` holds one small summary per column, built batch by batch, merged
associatively across partitions, and serialised to bytes or JSON (never pickle):

- numeric columns: a KLL quantile sketch (Apache DataSketches, ``k=2048`` by default, whose
  normalized rank error is stated by :attr:`NumericSketch.rank_error`), exact counts of rows
  and nulls, the mean and variance merged with Chan's parallel formulas, min and max, and a
  HyperLogLog distinct count (:class:`HyperLogLog`, vectorised);
- categorical columns: a frequent-items sketch whose counts are exact while the column has at
  most :data:`EXACT_CATEGORY_CAPACITY` distinct values (the head), with a stated error above
  that, plus exact row and null counts and a CPC distinct-count sketch.

    >>> import numpy as np
    >>> from modelsteward.baseline.sketch import SketchProfile
    >>> rng = np.random.default_rng(0)
    >>> a = SketchProfile.from_columns({
    ...     "x": rng.normal(size=5_000), "c": np.array(["a", "b"] * 2_500)})
    >>> b = SketchProfile.from_columns({
    ...     "x": rng.normal(size=5_000), "c": np.array(["a"] * 5_000)})
    >>> merged = a.merge(b)
    >>> merged.columns["x"].n_rows, merged.columns["c"].counts()["a"]
    (10000, 7500)
    >>> SketchProfile.from_bytes(merged.to_bytes()).columns["x"].n_rows
    10000
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import datasketches as ds
import numpy as np
from numpy.typing import ArrayLike

from modelsteward.baseline.columns import category_counts, epoch_seconds, infer_kind
from modelsteward.errors import BaselineFormatError, ColumnTypeError, DataError
from modelsteward.stats.moments import moments

__all__ = [
    "DEFAULT_K",
    "EXACT_CATEGORY_CAPACITY",
    "CategoricalSketch",
    "HyperLogLog",
    "NumericSketch",
    "SketchProfile",
    "kll_rank_error",
    "merge_profiles",
]

#: KLL accuracy parameter; its single-sided normalized rank error is about 0.0014 (99% conf.).
DEFAULT_K = 2048
#: lg of the CPC sketch size (4096 slots: about 1% relative error on distinct counts).
CPC_LG_K = 12
#: lg of the frequent-items map; its counts are exact up to 0.75 * 2**lg distinct items.
FREQUENT_LG_MAX_MAP = 12
#: How many distinct categories a categorical sketch counts exactly.
EXACT_CATEGORY_CAPACITY = int(0.75 * 2**FREQUENT_LG_MAX_MAP)
FORMAT_VERSION = 1
_MAGIC = b"MSSKETCH"
_BIG = float(np.finfo(np.float64).max)


def kll_rank_error(k: int = DEFAULT_K) -> float:
    """Normalized single-sided rank error of a KLL sketch of accuracy ``k`` (99% confidence).

    >>> round(kll_rank_error(2048), 5)
    0.00138
    """
    return float(ds.kll_doubles_sketch.get_normalized_rank_error(int(k), False))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def _none_if_nan(x: float) -> float | None:
    return None if (x is None or not math.isfinite(x)) else float(x)


def _as_float_array(values: ArrayLike, name: str) -> np.ndarray:
    arr = epoch_seconds(np.asarray(values), name)  # datetimes: seconds, as infer_kind says
    if arr.dtype.kind in "fiub":
        return arr.astype(np.float64, copy=False)
    if arr.dtype.kind == "O":
        try:
            return np.array(
                [np.nan if v is None else float(v) for v in arr.ravel()], dtype=np.float64
            )
        except (TypeError, ValueError) as exc:
            raise ColumnTypeError(
                f"column {name!r} is declared numeric but holds non-numeric values ({exc}); "
                "declare it categorical with kinds={...: 'categorical'} or clean the column"
            ) from None
    raise ColumnTypeError(
        f"column {name!r} is declared numeric but has dtype {arr.dtype}; declare it "
        "categorical with kinds={...: 'categorical'} or cast it to numbers"
    )



class HyperLogLog:
    """Distinct-count sketch for numeric columns: HyperLogLog, 2**14 registers, vectorised.

    Values are hashed as their float64 bits (-0.0 taken as 0.0) with the 64-bit MurmurHash3
    finaliser; the estimate is Ertl's improved estimator (unbiased from 0 to 2**64, standard
    error about 1.04 / 128 = 0.8%). Numpy updates a whole batch at once: feeding DataSketches'
    CPC one Python call per value cost 4x more than everything else in a numeric profile.
    Merge = register-wise max, so it is associative, commutative and exact.

    >>> h = HyperLogLog().update(np.arange(10_000.0))
    >>> abs(h.estimate() / 10_000 - 1) < 0.03
    True
    """

    P = 14
    M = 1 << P
    Q = 64 - P

    def __init__(self, registers: np.ndarray | None = None) -> None:
        self.registers = (
            np.zeros(self.M, dtype=np.uint8) if registers is None else registers.astype(np.uint8)
        )
        if self.registers.shape != (self.M,):
            raise BaselineFormatError("HyperLogLog registers have the wrong size; re-create it")

    _C1 = np.uint64(0xFF51AFD7ED558CCD)
    _C2 = np.uint64(0xC4CEB9FE1A85EC53)
    _S = np.uint64(33)

    @classmethod
    def _hash(cls, values: np.ndarray) -> np.ndarray:
        """MurmurHash3's 64-bit finaliser of the float64 bits (a fresh array)."""
        h = (np.asarray(values, dtype=np.float64) + 0.0).view(np.uint64)  # -0.0 -> 0.0
        t = h >> cls._S
        h ^= t
        h *= cls._C1
        np.right_shift(h, cls._S, out=t)
        h ^= t
        h *= cls._C2
        np.right_shift(h, cls._S, out=t)
        h ^= t
        return h

    def update(self, values: np.ndarray) -> HyperLogLog:
        if values.size == 0:
            return self
        h = self._hash(values)
        idx = (h >> np.uint64(self.Q)).astype(np.intp)
        h &= np.uint64((1 << self.Q) - 1)  # 50 bits: exact as float64
        rho = (self.Q + 1 - np.frexp(h.astype(np.float64))[1]).astype(np.uint8)
        grows = rho > self.registers[idx]  # only these can change a register
        np.maximum.at(self.registers, idx[grows], rho[grows])
        return self

    def merge(self, other: HyperLogLog) -> HyperLogLog:
        return HyperLogLog(np.maximum(self.registers, other.registers))

    def copy(self) -> HyperLogLog:
        return HyperLogLog(self.registers.copy())

    def estimate(self) -> float:
        m, q = self.M, self.Q
        counts = np.bincount(self.registers, minlength=q + 2).astype(np.float64)
        if counts[0] == m:
            return 0.0
        z = m * _tau(1.0 - counts[q + 1] / m)
        for k in range(q, 0, -1):
            z = 0.5 * (z + counts[k])
        z += m * _sigma(counts[0] / m)
        return float(m * m / (2.0 * math.log(2.0)) / z)

    def to_bytes(self) -> bytes:
        return self.registers.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> HyperLogLog:
        return cls(np.frombuffer(data, dtype=np.uint8).copy())


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        z_old = z
        z += x * y
        y += y
        if z == z_old:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        z_old = z
        y *= 0.5
        z -= (1.0 - x) ** 2 * y
        if z == z_old:
            return z / 3.0


@dataclass
class NumericSketch:
    """Mergeable summary of one numeric column (KLL quantiles, Chan moments, CPC distinct).

    ``n_rows`` counts every row, ``n_null`` the NaN/None ones; mean, variance, minimum and
    maximum are over the finite values (``n_finite`` of them); infinities (``n_inf``) go into
    the quantile sketch only, as in the exact profile.
    """

    name: str
    k: int = DEFAULT_K
    n_rows: int = 0
    n_null: int = 0
    n_finite: int = 0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf
    n_inf: int = 0
    kll: Any = None
    hll: HyperLogLog | None = None
    kind: str = field(default="numeric", init=False)

    def __post_init__(self) -> None:
        if self.kll is None:
            self.kll = ds.kll_doubles_sketch(self.k)
        if self.hll is None:
            self.hll = HyperLogLog()

    # --- building -------------------------------------------------------------------------
    def update(self, values: ArrayLike) -> NumericSketch:
        """Add a batch of values in place (NaN and None count as nulls); returns ``self``."""
        arr = _as_float_array(values, self.name).ravel()
        self.n_rows += int(arr.size)
        nan_mask = np.isnan(arr)
        n_nan = int(nan_mask.sum())
        self.n_null += n_nan
        present = arr[~nan_mask] if n_nan else arr
        if present.size == 0:
            return self
        if not (present.flags.c_contiguous and present.flags.writeable):
            present = np.array(present, dtype=np.float64, order="C")  # nanobind needs both
        self.kll.update(present)
        assert self.hll is not None
        self.hll.update(present)
        finite_mask = np.isfinite(present)
        finite = present if finite_mask.all() else present[finite_mask]
        self.n_inf += int(present.size - finite.size)
        if finite.size:
            self.minimum = min(self.minimum, float(finite.min()))
            self.maximum = max(self.maximum, float(finite.max()))
            b_n = int(finite.size)
            b_mean, b_var = moments(finite)  # no overflow near 1.8e308
            self._combine_moments(b_n, b_mean, b_var * b_n)
        return self

    def _combine_moments(self, b_n: int, b_mean: float, b_m2: float) -> None:
        a_n = self.n_finite
        if a_n == 0:
            self.n_finite, self.mean, self.m2 = b_n, b_mean, b_m2
            return
        n = a_n + b_n
        with np.errstate(over="ignore", invalid="ignore"):
            delta = b_mean - self.mean
            mean = self.mean + delta * b_n / n
            if not math.isfinite(delta):  # means of opposite sign near 1.8e308
                mean = self.mean * (a_n / n) + b_mean * (b_n / n)
            self.mean = mean
            self.m2 = self.m2 + b_m2 + delta * delta * a_n * b_n / n
        self.n_finite = n

    def merge(self, other: NumericSketch) -> NumericSketch:
        """A new sketch summarising both inputs (neither input changes)."""
        if not isinstance(other, NumericSketch):
            raise DataError(
                f"cannot merge column {self.name!r}: one profile has it numeric, the other "
                "categorical; fit both profiles with the same kinds"
            )
        if other.k != self.k:
            raise DataError(
                f"cannot merge column {self.name!r}: KLL k differs ({self.k} vs {other.k}); "
                "build every partition's profile with the same k"
            )
        out = self.copy()
        out.n_rows += other.n_rows
        out.n_null += other.n_null
        out.n_inf += other.n_inf
        out.minimum = min(out.minimum, other.minimum)
        out.maximum = max(out.maximum, other.maximum)
        if other.n_finite:
            out._combine_moments(other.n_finite, other.mean, other.m2)
        out.kll.merge(other.kll)
        assert out.hll is not None and other.hll is not None
        out.hll = out.hll.merge(other.hll)
        return out

    def copy(self) -> NumericSketch:
        return NumericSketch(
            name=self.name,
            k=self.k,
            n_rows=self.n_rows,
            n_null=self.n_null,
            n_finite=self.n_finite,
            mean=self.mean,
            m2=self.m2,
            minimum=self.minimum,
            maximum=self.maximum,
            n_inf=self.n_inf,
            kll=ds.kll_doubles_sketch.deserialize(self.kll.serialize()),
            hll=None if self.hll is None else self.hll.copy(),
        )

    # --- reading --------------------------------------------------------------------------
    @property
    def n_present(self) -> int:
        """Non-null values (the count the quantile sketch holds)."""
        return self.n_rows - self.n_null

    @property
    def variance(self) -> float:
        """Population variance of the finite values (``np.nanvar``); 0.0 when fewer than two;
        the largest float when it exceeds the float64 range (as the exact profile)."""
        if self.n_finite <= 1:
            return 0.0
        v = self.m2 / self.n_finite
        return v if math.isfinite(v) else _BIG

    @property
    def rank_error(self) -> float:
        """Bound on |sketch rank - true rank| for every value: 0 while the sketch is exact."""
        if self.kll.is_empty() or not self.kll.is_estimation_mode():
            return 0.0
        return float(self.kll.normalized_rank_error(False))

    @property
    def n_distinct(self) -> int:
        """Estimated distinct non-null values (HyperLogLog, about 1% relative error)."""
        assert self.hll is not None
        return int(round(self.hll.estimate()))

    # --- the ColumnSummary protocol (baseline.summary) -------------------------------------
    @property
    def n_valid(self) -> int:
        return self.n_present

    @property
    def cdf_error(self) -> float:
        return self.rank_error

    #: HyperLogLog with 2**14 registers: standard error 1.04 / 128
    distinct_error = 1.04 / 128
    categories_error = 0

    def support(self) -> np.ndarray:
        return self.retained_items()

    def distinct(self, need: float = math.inf) -> int:
        return self.n_distinct

    def categories(self) -> dict[str, int]:
        return {}

    def retained_items(self) -> np.ndarray:
        """Sorted unique values the quantile sketch retains (where its CDF steps)."""
        if self.kll.is_empty():
            return np.empty(0)
        return np.unique(np.fromiter((item for item, _ in self.kll), dtype=np.float64))

    def cdf(self, points: np.ndarray, inclusive: bool = True) -> np.ndarray:
        """Sketch estimate of P(X <= x) (``inclusive``) or P(X < x) at sorted unique points."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.size == 0 or self.kll.is_empty():
            return np.zeros(pts.size)
        return np.asarray(self.kll.get_cdf(pts.tolist(), inclusive), dtype=np.float64)[:-1]

    def quantiles(self, ranks: Sequence[float]) -> np.ndarray:
        """Values at the given normalized ranks (0..1)."""
        if self.kll.is_empty():
            return np.full(len(ranks), np.nan)
        return np.asarray(self.kll.get_quantiles(list(ranks)), dtype=np.float64)

    # --- serialisation --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "numeric",
            "name": self.name,
            "k": self.k,
            "n_rows": self.n_rows,
            "n_null": self.n_null,
            "n_finite": self.n_finite,
            "mean": float(self.mean),
            "m2": float(self.m2),
            "n_inf": self.n_inf,
            "minimum": _none_if_nan(self.minimum) if self.n_finite else None,
            "maximum": _none_if_nan(self.maximum) if self.n_finite else None,
            "minimum_raw": repr(float(self.minimum)),
            "maximum_raw": repr(float(self.maximum)),
            "kll": _b64(self.kll.serialize()),
            "hll": _b64(self.hll.to_bytes() if self.hll is not None else b""),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NumericSketch:
        return cls(
            name=str(data["name"]),
            k=int(data["k"]),
            n_rows=int(data["n_rows"]),
            n_null=int(data["n_null"]),
            n_finite=int(data["n_finite"]),
            mean=float(data["mean"]),
            m2=float(data["m2"]),
            minimum=float(data["minimum_raw"]),
            maximum=float(data["maximum_raw"]),
            n_inf=int(data.get("n_inf", 0)),
            kll=ds.kll_doubles_sketch.deserialize(_unb64(data["kll"])),
            hll=HyperLogLog.from_bytes(_unb64(data["hll"])),
        )


@dataclass
class CategoricalSketch:
    """Mergeable summary of one categorical column: frequent items, nulls, distinct count.

    Counts are exact while the column has at most ``EXACT_CATEGORY_CAPACITY`` distinct values
    (:attr:`is_exact`); past that the frequent-items sketch keeps the head with an error of at
    most :attr:`count_error` per count.
    """

    name: str
    n_rows: int = 0
    n_null: int = 0
    items: Any = None
    cpc: Any = None
    kind: str = field(default="categorical", init=False)

    def __post_init__(self) -> None:
        if self.items is None:
            self.items = ds.frequent_strings_sketch(FREQUENT_LG_MAX_MAP)
        if self.cpc is None:
            self.cpc = ds.cpc_sketch(CPC_LG_K)

    def update(self, values: ArrayLike) -> CategoricalSketch:
        """Add a batch of values in place (None and NaN count as nulls); returns ``self``."""
        arr = np.asarray(values, dtype=object).ravel()
        counts, n_null = category_counts(arr)  # the exact profile's labels (2.0 -> "2")
        self.update_counts(counts.keys(), counts.values(), n_rows=arr.size, n_null=n_null)
        return self

    def update_counts(
        self, categories: Iterable[str], counts: Iterable[int], *, n_rows: int, n_null: int
    ) -> None:
        """Add pre-aggregated counts (what a value_counts per batch gives)."""
        self.n_rows += int(n_rows)
        self.n_null += int(n_null)
        for cat, cnt in zip(categories, counts, strict=True):
            if cnt > 0:
                self.items.update(str(cat), int(cnt))
                self.cpc.update(str(cat))

    def merge(self, other: CategoricalSketch) -> CategoricalSketch:
        """A new sketch summarising both inputs (neither input changes)."""
        if not isinstance(other, CategoricalSketch):
            raise DataError(
                f"cannot merge column {self.name!r}: one profile has it categorical, the "
                "other numeric; fit both profiles with the same kinds"
            )
        out = self.copy()
        out.n_rows += other.n_rows
        out.n_null += other.n_null
        out.items.merge(other.items)
        union = ds.cpc_union(CPC_LG_K)
        union.update(out.cpc)
        union.update(other.cpc)
        out.cpc = union.get_result()
        return out

    def copy(self) -> CategoricalSketch:
        return CategoricalSketch(
            name=self.name,
            n_rows=self.n_rows,
            n_null=self.n_null,
            items=ds.frequent_strings_sketch.deserialize(self.items.serialize()),
            cpc=ds.cpc_sketch.deserialize(self.cpc.serialize()),
        )

    @property
    def n_present(self) -> int:
        return self.n_rows - self.n_null

    @property
    def count_error(self) -> int:
        """Largest possible error of any reported count (0 while the sketch is exact)."""
        worst = 0
        for _item, _est, lower, upper in self.items.get_frequent_items(
            ds.frequent_items_error_type.NO_FALSE_NEGATIVES, 0
        ):
            worst = max(worst, int(upper) - int(lower))
        return worst

    # --- the ColumnSummary protocol (baseline.summary) -------------------------------------
    n_inf = 0
    mean = variance = minimum = maximum = 0.0
    cdf_error = 0.0

    @property
    def n_valid(self) -> int:
        return self.n_present

    @property
    def distinct_error(self) -> float:
        return 0.0 if self.is_exact else 0.02  # CPC with lg k = 12: about 1% standard error

    @property
    def categories_error(self) -> int:
        return self.count_error

    def cdf(self, points: np.ndarray, inclusive: bool = True) -> np.ndarray:
        return np.zeros(np.asarray(points).size)

    def quantiles(self, ranks: Sequence[float]) -> np.ndarray:
        return np.full(len(ranks), np.nan)

    def support(self) -> np.ndarray:
        return np.zeros(0)

    def distinct(self, need: float = math.inf) -> int:
        return self.n_distinct

    def categories(self) -> dict[str, int]:
        return self.counts()

    @property
    def is_exact(self) -> bool:
        return self.count_error == 0 and self.items.num_active_items <= EXACT_CATEGORY_CAPACITY

    @property
    def n_distinct(self) -> int:
        if self.is_exact:
            return int(self.items.num_active_items)
        return int(round(self.cpc.get_estimate()))

    def counts(self) -> dict[str, int]:
        """Category -> count (exact for every category while :attr:`is_exact`), largest first."""
        rows = self.items.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES, 0)
        rows.sort(key=lambda r: (-r[1], r[0]))
        return {str(item): int(est) for item, est, _lo, _hi in rows}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "categorical",
            "name": self.name,
            "n_rows": self.n_rows,
            "n_null": self.n_null,
            "items": _b64(self.items.serialize()),
            "cpc": _b64(self.cpc.serialize()),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CategoricalSketch:
        return cls(
            name=str(data["name"]),
            n_rows=int(data["n_rows"]),
            n_null=int(data["n_null"]),
            items=ds.frequent_strings_sketch.deserialize(_unb64(data["items"])),
            cpc=ds.cpc_sketch.deserialize(_unb64(data["cpc"])),
        )


ColumnSketch = NumericSketch | CategoricalSketch


@dataclass
class SketchProfile:
    """One mergeable sketch per column, in fit order. Build, merge, serialise.

    ``kinds`` are fixed when the profile is created and never re-guessed per batch.
    """

    columns: dict[str, ColumnSketch]
    k: int = DEFAULT_K

    @classmethod
    def empty(cls, kinds: Mapping[str, str], k: int = DEFAULT_K) -> SketchProfile:
        """A profile with no rows for the given column kinds."""
        cols: dict[str, ColumnSketch] = {}
        for name, kind in kinds.items():
            if kind == "numeric":
                cols[name] = NumericSketch(name=name, k=k)
            elif kind == "categorical":
                cols[name] = CategoricalSketch(name=name)
            else:
                raise DataError(
                    f"unknown kind {kind!r} for column {name!r}; use 'numeric' or 'categorical'"
                )
        if k < 8:
            raise DataError(f"KLL k must be at least 8 (got {k}); the default is {DEFAULT_K}")
        return cls(columns=cols, k=k)

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Any],
        kinds: Mapping[str, str] | None = None,
        k: int = DEFAULT_K,
    ) -> SketchProfile:
        """Profile a mapping of column name -> array in one batch."""
        resolved = {
            name: (kinds or {}).get(name) or infer_kind(values)
            for name, values in columns.items()
        }
        profile = cls.empty(resolved, k=k)
        profile.update(columns)
        return profile

    @property
    def kinds(self) -> dict[str, str]:
        return {name: col.kind for name, col in self.columns.items()}

    @property
    def n_rows(self) -> int:
        return max((c.n_rows for c in self.columns.values()), default=0)

    def update(self, batch: Mapping[str, Any]) -> SketchProfile:
        """Add one batch (column name -> array); every profiled column must be present."""
        for name, col in self.columns.items():
            if name not in batch:
                raise DataError(
                    f"batch lacks column {name!r}; every batch must hold the profiled columns"
                )
            col.update(batch[name])
        return self

    def merge(self, other: SketchProfile) -> SketchProfile:
        """A new profile summarising both (associative and order independent within error)."""
        if list(self.columns) != list(other.columns) and set(self.columns) != set(
            other.columns
        ):
            raise DataError(
                "cannot merge profiles with different columns "
                f"({sorted(set(self.columns) ^ set(other.columns))} in only one); "
                "profile every partition with the same columns"
            )
        merged: dict[str, ColumnSketch] = {}
        for name, col in self.columns.items():
            merged[name] = col.merge(other.columns[name])  # type: ignore[arg-type]
        return SketchProfile(columns=merged, k=self.k)

    # --- serialisation --------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (sketches as base64 of their DataSketches bytes)."""
        return {
            "format": "modelsteward.sketch_profile",
            "format_version": FORMAT_VERSION,
            "k": self.k,
            "rank_error": kll_rank_error(self.k),
            "columns": [col.to_json() for col in self.columns.values()],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | str) -> SketchProfile:
        if isinstance(data, str):
            data = json.loads(data)
        assert isinstance(data, Mapping)
        if data.get("format") != "modelsteward.sketch_profile":
            raise BaselineFormatError(
                "not a modelsteward sketch profile (missing 'format'); pass what "
                "SketchProfile.to_json() or to_bytes() wrote"
            )
        if int(data.get("format_version", -1)) > FORMAT_VERSION:
            raise BaselineFormatError(
                f"sketch profile format {data.get('format_version')} is newer than this "
                f"modelsteward reads ({FORMAT_VERSION}); upgrade modelsteward"
            )
        cols: dict[str, ColumnSketch] = {}
        try:
            for entry in data["columns"]:
                col: ColumnSketch = (
                    NumericSketch.from_json(entry)
                    if entry["kind"] == "numeric"
                    else CategoricalSketch.from_json(entry)
                )
                cols[col.name] = col
        except (KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise BaselineFormatError(
                f"sketch profile is corrupt ({type(exc).__name__}: {exc}); re-create it"
            ) from None
        return cls(columns=cols, k=int(data["k"]))

    def to_bytes(self) -> bytes:
        """Compact binary form: magic, a JSON header, then the raw sketch bytes."""
        header: list[dict[str, Any]] = []
        blobs: list[bytes] = []
        for col in self.columns.values():
            entry = col.to_json()
            for key in ("kll", "hll", "cpc", "items"):
                if key in entry:
                    raw = _unb64(entry[key])
                    entry[key] = len(raw)
                    blobs.append(raw)
            header.append(entry)
        head = json.dumps(
            {"format_version": FORMAT_VERSION, "k": self.k, "columns": header},
            separators=(",", ":"),
        ).encode("utf-8")
        return _MAGIC + struct.pack("<I", len(head)) + head + b"".join(blobs)

    @classmethod
    def from_bytes(cls, data: bytes) -> SketchProfile:
        if not data.startswith(_MAGIC):
            raise BaselineFormatError(
                "not a modelsteward sketch profile (bad magic bytes); pass what "
                "SketchProfile.to_bytes() wrote"
            )
        try:
            off = len(_MAGIC)
            (head_len,) = struct.unpack_from("<I", data, off)
            off += 4
            head = json.loads(data[off : off + head_len].decode("utf-8"))
            off += head_len
            for entry in head["columns"]:
                for key in ("kll", "hll", "cpc", "items"):
                    if key in entry:
                        size = int(entry[key])
                        entry[key] = _b64(data[off : off + size])
                        off += size
            if not isinstance(head, dict):
                raise ValueError("the header is not an object")
            head["format"] = "modelsteward.sketch_profile"
            return cls.from_json(head)
        except BaselineFormatError:
            raise
        except RecursionError:
            raise BaselineFormatError(
                "sketch profile bytes are corrupt (header nested too deeply); re-create the "
                "profile"
            ) from None
        except (
            struct.error, ValueError, KeyError, TypeError, AttributeError, RuntimeError,
            OverflowError, IndexError,
        ) as exc:  # RuntimeError, IndexError: datasketches rejecting a corrupt sketch
            raise BaselineFormatError(
                f"sketch profile bytes are corrupt ({type(exc).__name__}: {exc}); re-create "
                "the profile"
            ) from None


def merge_profiles(profiles: Sequence[SketchProfile]) -> SketchProfile:
    """Tree-merge many partition profiles (pairwise, log depth).

    >>> import numpy as np
    >>> parts = [SketchProfile.from_columns({"x": np.arange(10.0) + i}) for i in range(5)]
    >>> merge_profiles(parts).columns["x"].n_rows
    50
    """
    level = list(profiles)
    if not level:
        raise DataError("no profiles to merge; the data had no partitions with rows")
    while len(level) > 1:
        nxt = [level[i].merge(level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]
