"""Sketch mode of :class:`~modelsteward.baseline.Baseline`: when to use it, and how to fit it.

Exact mode (every reference value kept, sorted) stays the default up to ``exact_max_rows``
rows (:data:`DEFAULT_EXACT_MAX_ROWS`, settable per call); above it, or with ``mode="sketch"``,
each column is summarised by a mergeable sketch (:mod:`modelsteward.baseline.sketch`). A
sketch-mode :class:`ColumnProfile` has ``mode="sketch"``, no ``sorted_values``, PSI edges at
the sketch's quantiles, and the column sketch's bytes in ``extra["sketch"]`` (so
``Baseline.save``/``load`` keep it, without pickle).

Parquet/CSV sources (a path, directory, glob or list) are read batch by batch: Parquet row
counts come from the metadata, so a small dataset is still fitted exactly; a CSV source is
fitted in sketch mode unless ``mode="exact"`` or it is small enough (256 MB) to be read whole
to count its rows.

    >>> import numpy as np
    >>> from modelsteward.baseline import Baseline
    >>> b = Baseline.fit({"x": np.arange(50_000.0)}, mode="sketch")
    >>> b.columns["x"].mode, b.columns["x"].sorted_values is None
    ('sketch', True)
    >>> round(b.columns["x"].extra["rank_error"], 5)
    0.00138
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from modelsteward._params import MODE, Interval, check_param, validate_params
from modelsteward._types import DataLike
from modelsteward.baseline.columns import (
    CATEGORICAL,
    KINDS,
    NUMERIC,
    as_columns,
    check_fit_columns,
    infer_kind,
)
from modelsteward.baseline.joint import MIN_ROWS, JointReference, RowSampler
from modelsteward.baseline.profile import SKETCH_KEY, ColumnProfile
from modelsteward.baseline.sketch import (
    DEFAULT_K,
    ColumnSketch,
    NumericSketch,
    SketchProfile,
)
from modelsteward.baseline.streaming import infer_kinds, profile_dataset
from modelsteward.baseline.summary import bin_proportions, quantile_edges
from modelsteward.errors import BaselineError
from modelsteward.io import (
    DEFAULT_BATCH_SIZE,
    count_rows,
    dataset_schema,
    is_dataset_source,
    read_table,
    small_csv_table,
)

__all__ = [
    "DEFAULT_EXACT_MAX_ROWS",
    "MODES",
    "choose_fit_mode",
    "column_profile_from_sketch",
    "joint_from_sampler",
    "resolve_mode",
    "sketch_profile_of",
]

#: Above this many rows, ``mode="auto"`` profiles with sketches instead of exact values.
DEFAULT_EXACT_MAX_ROWS = 10_000_000
MODES = ("auto", "exact", "sketch")
_IN_MEMORY_BATCH = 1_000_000


def _check_mode(mode: str) -> str:
    check_param("mode", "mode", mode, MODE)
    return mode


def resolve_mode(mode: str, n_rows: int | None, exact_max_rows: int | None = None) -> str:
    """``"exact"`` or ``"sketch"`` for ``mode`` and a row count (None: unknown -> sketch).

    >>> resolve_mode("auto", 1_000), resolve_mode("auto", 20_000_000), resolve_mode("auto", 5, 4)
    ('exact', 'sketch', 'sketch')
    """
    _check_mode(mode)
    if mode != "auto":
        return mode
    limit = DEFAULT_EXACT_MAX_ROWS if exact_max_rows is None else int(exact_max_rows)
    return "sketch" if n_rows is None or n_rows > limit else "exact"


def choose_fit_mode(
    data: DataLike, mode: str = "auto", exact_max_rows: int | None = None
) -> tuple[str, DataLike]:
    """(the mode to fit in, the data to fit): a dataset source stays a source in sketch mode
    and is read into one Arrow table in exact mode; in-memory data becomes columns."""
    _check_mode(mode)
    if is_dataset_source(data):
        n = count_rows(data) if mode == "auto" else None
        if n is None and mode == "auto":  # CSV: small files are read to count their rows
            table = small_csv_table(data)
            if table is not None:
                return resolve_mode(mode, table.num_rows, exact_max_rows), as_columns(table)
        chosen = resolve_mode(mode, n, exact_max_rows)
        return (chosen, data) if chosen == "sketch" else (chosen, read_table(data))
    cols = as_columns(data)
    n_rows = max((int(v.shape[0]) for v in cols.values()), default=0)
    return resolve_mode(mode, n_rows, exact_max_rows), cols


def _edges_and_counts(
    sk: NumericSketch, n_bins: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if sk.n_present == 0:
        return None, None
    edges = quantile_edges(sk, n_bins)
    props, _ = bin_proportions(sk, edges)
    return edges, np.rint(props * sk.n_present).astype(np.int64)


def column_profile_from_sketch(sk: ColumnSketch, n_bins: int = 10) -> ColumnProfile:
    """A sketch-mode :class:`ColumnProfile` carrying the column sketch in ``extra``."""
    blob = SketchProfile(columns={sk.name: sk}, k=getattr(sk, "k", DEFAULT_K)).to_bytes()
    if isinstance(sk, NumericSketch):
        edges, counts = _edges_and_counts(sk, n_bins)
        return ColumnProfile(
            name=sk.name,
            kind=NUMERIC,
            n_rows=sk.n_rows,
            n_null=sk.n_null,
            mean=float(sk.mean) if sk.n_finite else 0.0,
            variance=float(sk.variance),
            minimum=float(sk.minimum) if sk.n_finite else 0.0,
            maximum=float(sk.maximum) if sk.n_finite else 0.0,
            n_distinct=sk.n_distinct,
            psi_edges=edges,
            psi_reference_counts=counts,
            mode="sketch",
            n_inf=sk.n_inf,
            extra={SKETCH_KEY: blob, "rank_error": sk.rank_error, "k": sk.k},
        )
    return ColumnProfile(
        name=sk.name,
        kind=CATEGORICAL,
        n_rows=sk.n_rows,
        n_null=sk.n_null,
        n_distinct=sk.n_distinct,
        category_counts=sk.counts(),
        mode="sketch",
        extra={SKETCH_KEY: blob, "count_error": sk.count_error},
    )


def joint_from_sampler(sampler: RowSampler, sample_size: int, seed: int = 0) -> JointReference:
    """The joint reference fitted on a streamed row sample (PCA on half of it, held-out
    error on the other half, the whole sample kept for the domain classifier)."""
    if len(sampler) < MIN_ROWS:
        raise BaselineError(
            f"a joint reference needs at least {MIN_ROWS} reference rows, the sample has "
            f"{len(sampler)}; fit without joint=True or give more reference data")
    return JointReference.fit(sampler.columns(), sampler.kinds, sample_size=sample_size,
                              seed=seed)


def _kinds_of(cols: Mapping[str, np.ndarray], kinds: Mapping[str, str]) -> dict[str, str]:
    return {name: kinds.get(name) or infer_kind(values) for name, values in cols.items()}


@validate_params({"k": [Interval("int", 8, 2**20), None],
                  "batch_size": [Interval("int", 1, None)],
                  "sample_size": [Interval("int", MIN_ROWS, None)]})
def sketch_profile_of(
    data: DataLike,
    kinds: Mapping[str, str] | None = None,
    *,
    k: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    joint: bool = False,
    sample_size: int = 20_000,
) -> tuple[SketchProfile, RowSampler | None]:
    """Profile a dataset source or in-memory data in batches into a :class:`SketchProfile`;
    with ``joint=True`` also a bottom-k reservoir of ``sample_size`` rows (memory: the
    sample plus one batch)."""
    kinds = dict(kinds or {})
    for name, kind in kinds.items():
        if kind not in KINDS:
            raise BaselineError(f"kinds[{name!r}] = {kind!r}; use 'numeric' or 'categorical'")
    k = DEFAULT_K if k is None else int(k)
    sampler: RowSampler | None = None
    if is_dataset_source(data):
        if joint:
            schema_kinds = infer_kinds(dataset_schema(data, kinds))
            sampler = RowSampler({n: kinds.get(n) or schema_kinds[n] for n in schema_kinds},
                                 sample_size)
        return profile_dataset(data, kinds, k=k, batch_size=batch_size, sampler=sampler), sampler
    cols = data if isinstance(data, dict) else as_columns(data)
    check_fit_columns(cols, kinds)
    resolved = _kinds_of(cols, kinds)
    profile = SketchProfile.empty(resolved, k=k)
    sampler = RowSampler(resolved, sample_size) if joint else None
    n = max(int(v.shape[0]) for v in cols.values())
    for lo in range(0, n, _IN_MEMORY_BATCH):
        batch = {name: v[lo : lo + _IN_MEMORY_BATCH] for name, v in cols.items()}
        profile.update(batch)
        if sampler is not None:
            sampler.update(batch)
    return profile, sampler
