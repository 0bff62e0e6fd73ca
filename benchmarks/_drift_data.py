"""Generated data for the drift benchmark (a helper of benchmarks/drift_speed.py).

100 float64 columns, a reference window and a current window of ``n_rows`` each. Ten columns
drift (f0-f9, the cases of /work/shared/notes/peers.md), ninety do not (f10-f99), and the clean
ones cover the shapes that break naive detectors: skew, heavy ties (Poisson counts, ratings,
rounded values) and missing values.

    >>> ref, cur = generate(1_000, seed=0)
    >>> ref.shape, cur.shape, ref.flags.f_contiguous
    ((1000, 100), (1000, 100), True)
    >>> sorted(DRIFTED)[:3], len(CLEAN)
    (['f0', 'f1', 'f2'], 90)

Each column comes from its own seeded stream, so a column is the same whatever the other
columns are, and the files in ``benchmarks/data/`` (gitignored) are a cache that can be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATA_VERSION = 1  # bump when a generator below changes, so cached files are rebuilt
N_COLUMNS = 100

Sampler = Callable[[np.random.Generator, int], np.ndarray]


@dataclass(frozen=True)
class ColumnSpec:
    """How one column is drawn in the reference and in the current window."""

    name: str
    family: str
    description: str
    reference: Sampler
    current: Sampler

    @property
    def drifted(self) -> bool:
        return self.reference is not self.current


def _with_nan(sampler: Sampler, rate: float) -> Sampler:
    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        values = sampler(rng, n)
        values[rng.random(n) < rate] = np.nan
        return values

    return draw


def _normal(mean: float, sd: float) -> Sampler:
    return lambda rng, n: rng.normal(mean, sd, n)


def _mixture(share: float, mean: float) -> Sampler:
    def draw(rng: np.random.Generator, n: int) -> np.ndarray:
        values = rng.normal(0.0, 1.0, n)
        moved = rng.random(n) < share
        values[moved] = rng.normal(mean, 1.0, int(moved.sum()))
        return values

    return draw


def _drifted_specs() -> list[ColumnSpec]:
    def case(
        family: str, description: str, ref: Sampler, cur: Sampler
    ) -> tuple[str, str, Sampler, Sampler]:
        return family, description, ref, cur

    cases = [
        case("normal", "mean +0.05 sd", _normal(0, 1), _normal(0.05, 1)),
        case("normal", "mean +0.2 sd", _normal(0, 1), _normal(0.2, 1)),
        case("normal", "variance x1.5", _normal(0, 1), _normal(0, 1.5**0.5)),
        case(
            "lognormal",
            "sigma 0.5 -> 0.6",
            lambda rng, n: rng.lognormal(0.0, 0.5, n),
            lambda rng, n: rng.lognormal(0.0, 0.6, n),
        ),
        case(
            "poisson",
            "rate 5 -> 5.5 (heavy ties)",
            lambda rng, n: rng.poisson(5.0, n).astype(np.float64),
            lambda rng, n: rng.poisson(5.5, n).astype(np.float64),
        ),
        case("normal", "10% mixture at +3 sd", _normal(0, 1), _mixture(0.10, 3.0)),
        case(
            "normal",
            "turns constant (10.0)",
            _normal(10, 2),
            lambda rng, n: np.full(n, 10.0),
        ),
        case(
            "normal+nan",
            "nulls 2% -> 30%",
            _with_nan(_normal(0, 1), 0.02),
            _with_nan(_normal(0, 1), 0.30),
        ),
        case(
            "normal",
            "rounded to 3 values",
            _normal(0, 1),
            lambda rng, n: np.clip(np.round(rng.normal(0, 1, n)), -1.0, 1.0),
        ),
        case(
            "uniform",
            "unit change x100",
            lambda rng, n: rng.uniform(0, 10, n),
            lambda rng, n: rng.uniform(0, 10, n) * 100.0,
        ),
    ]
    return [
        ColumnSpec(f"f{i}", family, description, ref, cur)
        for i, (family, description, ref, cur) in enumerate(cases)
    ]


def _clean_sampler(family: str, k: int) -> tuple[str, Sampler]:
    """The k-th clean column of a family (k = 0..8), parameters varied by k."""
    if family == "normal":
        return f"normal({k - 5}, {1 + k})", _normal(k - 5.0, 1.0 + k)
    if family == "lognormal":
        sigma = 0.3 + 0.15 * k
        return f"lognormal(0, {sigma:.2f})", lambda rng, n: rng.lognormal(0.0, sigma, n)
    if family == "exponential":
        scale = 0.5 + k
        return f"exponential({scale})", lambda rng, n: rng.exponential(scale, n)
    if family == "uniform":
        return f"uniform({-k}, {k + 1})", lambda rng, n: rng.uniform(-k, k + 1.0, n)
    if family == "poisson":
        lam = [0.2, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 50.0][k]
        return f"poisson({lam}) heavy ties", lambda rng, n: rng.poisson(lam, n).astype(np.float64)
    if family == "rounded":
        decimals = k % 3
        sd = 1.0 + k

        def rounded(rng: np.random.Generator, n: int) -> np.ndarray:
            return np.round(rng.normal(100.0, sd, n), decimals)

        return f"normal(100, {sd}) rounded to {decimals} dp", rounded
    if family == "rating":
        levels = 3 + k % 5

        def rating(rng: np.random.Generator, n: int) -> np.ndarray:
            return rng.integers(1, levels + 1, n).astype(np.float64)

        return f"integers 1..{levels} (extreme ties)", rating
    if family == "normal+nan":
        rate = [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.05, 0.01][k]
        return f"normal, {rate:.1%} NaN", _with_nan(_normal(0, 1), rate)
    if family == "gamma":
        shape = 0.5 + 0.5 * k
        return f"gamma({shape})", lambda rng, n: rng.gamma(shape, 1.0, n)
    if family == "student_t":
        df = 2 + k
        return f"student t({df}) heavy tails", lambda rng, n: rng.standard_t(df, n)
    raise ValueError(family)


CLEAN_FAMILIES = (
    "normal",
    "lognormal",
    "exponential",
    "uniform",
    "poisson",
    "rounded",
    "rating",
    "normal+nan",
    "gamma",
    "student_t",
)


def column_specs() -> list[ColumnSpec]:
    """The 100 columns: f0-f9 drift, f10-f99 (ten families of nine) do not."""
    specs = _drifted_specs()
    index = len(specs)
    # 90 clean columns: ten families of nine, interleaved
    for k in range(9):
        for family in CLEAN_FAMILIES:
            description, sampler = _clean_sampler(family, k)
            specs.append(ColumnSpec(f"f{index}", family, description, sampler, sampler))
            index += 1
    assert len(specs) == N_COLUMNS
    return specs


SPECS = column_specs()
NAMES = [s.name for s in SPECS]
DRIFTED = frozenset(s.name for s in SPECS if s.drifted)
CLEAN = frozenset(s.name for s in SPECS if not s.drifted)


def _draw(spec_index: int, window: int, n_rows: int, seed: int) -> np.ndarray:
    spec = SPECS[spec_index]
    rng = np.random.default_rng(np.random.SeedSequence([seed, spec_index, window]))
    sampler = spec.reference if window == 0 else spec.current
    return np.asarray(sampler(rng, n_rows), dtype=np.float64)


def generate(n_rows: int, seed: int = 20261126) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current windows as Fortran-ordered (n_rows, 100) float64 arrays."""
    ref = np.empty((n_rows, N_COLUMNS), dtype=np.float64, order="F")
    cur = np.empty((n_rows, N_COLUMNS), dtype=np.float64, order="F")
    for j in range(N_COLUMNS):
        ref[:, j] = _draw(j, 0, n_rows, seed)
        cur[:, j] = _draw(j, 1, n_rows, seed)
    return ref, cur


def as_column_dict(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Column name -> contiguous view (no copy) of a Fortran-ordered matrix."""
    return {name: matrix[:, j] for j, name in enumerate(NAMES)}


def _stem(n_rows: int, seed: int) -> str:
    return f"drift_v{DATA_VERSION}_s{seed}_n{n_rows}"


def npy_paths(data_dir: Path, n_rows: int, seed: int) -> tuple[Path, Path]:
    stem = _stem(n_rows, seed)
    return data_dir / f"{stem}_reference.npy", data_dir / f"{stem}_current.npy"


def parquet_paths(data_dir: Path, n_rows: int, seed: int) -> tuple[Path, Path]:
    stem = _stem(n_rows, seed)
    return data_dir / f"{stem}_reference.parquet", data_dir / f"{stem}_current.parquet"


def materialize(n_rows: int, data_dir: Path, seed: int, parquet: bool) -> dict[str, Path]:
    """Write (or reuse) the .npy files, and the Parquet files when asked; return their paths."""
    data_dir.mkdir(parents=True, exist_ok=True)
    ref_npy, cur_npy = npy_paths(data_dir, n_rows, seed)
    ref_pq, cur_pq = parquet_paths(data_dir, n_rows, seed)
    need_parquet = parquet and not (ref_pq.exists() and cur_pq.exists())
    ref = cur = None
    if not (ref_npy.exists() and cur_npy.exists()):
        ref, cur = generate(n_rows, seed)
        for path, matrix in ((ref_npy, ref), (cur_npy, cur)):
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, matrix)
            tmp.replace(path)
    if need_parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if ref is None or cur is None:
            ref, cur = np.load(ref_npy), np.load(cur_npy)
        for path, matrix in ((ref_pq, ref), (cur_pq, cur)):
            # NaN stays a float NaN (not a Parquet null): pandas reads it back as NaN
            table = pa.table({name: matrix[:, j] for j, name in enumerate(NAMES)})
            tmp = path.with_suffix(".tmp.parquet")
            pq.write_table(table, tmp, compression="snappy")
            tmp.replace(path)
    paths = {"reference_npy": ref_npy, "current_npy": cur_npy}
    if parquet:
        paths.update(reference_parquet=ref_pq, current_parquet=cur_pq)
    return paths


def describe_columns() -> str:
    """One line per drifted column and per clean family, for the report."""
    lines = [f"- {s.name}: {s.family}, {s.description}" for s in SPECS if s.drifted]
    families: dict[str, list[str]] = {}
    for s in SPECS:
        if not s.drifted:
            families.setdefault(s.family, []).append(s.name)
    for family, names in families.items():
        lines.append(f"- clean {family}: {len(names)} columns ({names[0]}, {names[1]}, ...)")
    return "\n".join(lines)
