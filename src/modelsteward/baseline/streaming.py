"""Profile Parquet/CSV datasets batch by batch, so memory stays bounded.

Files are read by :mod:`modelsteward.io` (sources, null semantics, errors). Rows come in
record batches of ``batch_size`` rows with little read-ahead, so peak memory depends on the
batch and row-group size, never on the row count.

    >>> import tempfile, pathlib, numpy as np, pyarrow as pa, pyarrow.parquet as pq
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pq.write_table(pa.table({"x": np.arange(1000.0), "c": ["a", "b"] * 500}), d / "p.parquet")
    >>> prof = profile_dataset(d)
    >>> prof.kinds, prof.columns["x"].n_rows, prof.columns["c"].counts()
    ({'x': 'numeric', 'c': 'categorical'}, 1000, {'a': 500, 'b': 500})
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelsteward.baseline.columns import epoch_seconds, infer_kind
from modelsteward.baseline.sketch import (
    DEFAULT_K,
    CategoricalSketch,
    NumericSketch,
    SketchProfile,
    merge_profiles,
)
from modelsteward.errors import DataError, MissingColumnError
from modelsteward.io import (
    DEFAULT_BATCH_SIZE,
    Source,
    check_columns,
    dataset_schema,
    is_numeric_type,
    is_temporal_type,
    iter_batches,
    resolve_paths,
)

__all__ = [
    "infer_kinds",
    "iter_column_batches",
    "profile_dataset",
    "resolve_kinds",
    "update_profile_from_arrow",
]


def _is_numeric_or_temporal(t: pa.DataType) -> bool:
    return is_numeric_type(t) or is_temporal_type(t)


def infer_kinds(schema: pa.Schema) -> dict[str, str]:
    """Column kinds from an Arrow schema, by :func:`~modelsteward.baseline.columns.infer_kind`
    (the one rule of every fit path)."""
    return {f.name: infer_kind(f.type) for f in schema}


def resolve_kinds(
    schema: pa.Schema, kinds: Mapping[str, str] | None, columns: Sequence[str] | None
) -> tuple[list[str], dict[str, str]]:
    """(the columns to profile, their kinds): ``kinds`` where given, else the schema's."""
    names = list(columns) if columns is not None else list(schema.names)
    inferred = infer_kinds(schema)
    return names, {n: (kinds or {}).get(n) or inferred[n] for n in names}


def _numpy_of(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if is_temporal_type(arr.type):  # timestamps (UTC inside Arrow), dates, durations
        return epoch_seconds(np.asarray(arr.to_numpy(zero_copy_only=False)))
    if is_numeric_type(arr.type):
        if pa.types.is_decimal(arr.type):
            arr = arr.cast(pa.float64())
        out = arr.to_numpy(zero_copy_only=False)
        if arr.null_count and out.dtype.kind != "f":
            out = out.astype(np.float64)
        return np.asarray(out)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def iter_column_batches(
    source: Source,
    columns: Sequence[str] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[dict[str, np.ndarray]]:
    """Batches as ``{column: numpy array}`` (numeric with NaN for nulls, strings as objects)."""
    for batch in iter_batches(source, columns, batch_size=batch_size):
        yield {name: _numpy_of(batch.column(i)) for i, name in enumerate(batch.schema.names)}


def _update_categorical(col: CategoricalSketch, arr: pa.Array | pa.ChunkedArray) -> None:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    n = len(arr)
    n_null = arr.null_count
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        col.update(np.asarray(arr.to_pylist(), dtype=object))  # same labels as exact mode
        return
    vc = pc.value_counts(arr)
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_pylist()
    pairs = [(v, c) for v, c in zip(values, counts, strict=True) if v is not None]
    col.update_counts(
        [v for v, _ in pairs], [c for _, c in pairs], n_rows=n, n_null=n_null
    )


def update_profile_from_arrow(profile: SketchProfile, batch: pa.RecordBatch | pa.Table) -> None:
    """Add one Arrow batch to a profile in place (every profiled column must be present)."""
    names = batch.schema.names
    for name, col in profile.columns.items():
        if name not in names:
            raise MissingColumnError(
                f"column {name!r} is not in the data (it has {names}); every batch must hold "
                "the profiled columns"
            )
        arr = batch.column(names.index(name))
        if isinstance(col, NumericSketch):
            if not _is_numeric_or_temporal(arr.type):
                arr = arr.cast(pa.float64())  # raises ArrowInvalid on non-numbers
            col.update(_numpy_of(arr))
        else:
            _update_categorical(col, arr)


def profile_dataset(
    source: Source,
    kinds: Mapping[str, str] | None = None,
    *,
    columns: Sequence[str] | None = None,
    k: int = DEFAULT_K,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    workers: int = 1,
    sampler: Any = None,
) -> SketchProfile:
    """Stream a Parquet/CSV source into a :class:`SketchProfile` in bounded memory.

    ``kinds`` overrides the kinds read from the schema; ``columns`` limits what is read;
    ``progress`` is called with the number of rows read so far after each batch.
    ``workers > 1`` profiles the files in that many processes (files dealt round-robin) and
    merges their profiles: the sketches are mergeable, so the result is the same within the
    stated error, and memory stays bounded per process. ``sampler`` (a
    :class:`~modelsteward.baseline.joint.RowSampler` over the profiled columns) is fed every
    batch too, for the joint reference (one process only).
    """
    if workers > 1 and sampler is not None:
        raise DataError("a row sampler needs workers=1 (the samples are not sent back from "
                        "worker processes); pass workers=1")
    if workers > 1:
        return _profile_in_processes(source, kinds, columns, k, batch_size, workers)
    schema = dataset_schema(source, kinds)
    check_columns(columns, schema.names, resolve_paths(source)[0])
    names, resolved = resolve_kinds(schema, kinds, columns)
    profile = SketchProfile.empty(resolved, k=k)
    rows = 0
    for batch in iter_batches(source, names, batch_size=batch_size, kinds=resolved):
        try:
            update_profile_from_arrow(profile, batch)
            if sampler is not None:
                sampler.update({n: _numpy_of(batch.column(n)) for n in sampler.kinds})
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise DataError(
                f"cannot read a batch as the declared kinds ({exc}); fix kinds= or the data"
            ) from None
        rows += batch.num_rows
        if progress is not None:
            progress(rows)
    return profile


def _profile_files(
    files: list[str], kinds: dict[str, str], columns: list[str], k: int, batch_size: int
) -> bytes:
    return profile_dataset(files, kinds, columns=columns, k=k, batch_size=batch_size).to_bytes()


def _profile_in_processes(
    source: Source,
    kinds: Mapping[str, str] | None,
    columns: Sequence[str] | None,
    k: int,
    batch_size: int,
    workers: int,
) -> SketchProfile:
    files = [str(p) for p in resolve_paths(source)]
    names, resolved = resolve_kinds(dataset_schema(files, kinds), kinds, columns)
    groups = [files[i::workers] for i in range(min(workers, len(files)))]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with Arrow threads
    with ProcessPoolExecutor(max_workers=len(groups), mp_context=ctx) as pool:
        blobs = list(pool.map(
            _profile_files, groups, [resolved] * len(groups), [names] * len(groups),
            [k] * len(groups), [batch_size] * len(groups),
        ))
    return merge_profiles([SketchProfile.from_bytes(b) for b in blobs])
