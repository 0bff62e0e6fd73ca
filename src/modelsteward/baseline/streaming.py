"""Read Parquet/CSV datasets batch by batch with pyarrow, so memory stays bounded.

A *source* is a path to a file, a directory (every ``.parquet``/``.pq``/``.csv``/``.csv.gz``
file under it), a glob (``data/2026-*/part-*.parquet``) or a list of those. Rows are read in
record batches of ``batch_size`` rows with little read-ahead, so peak memory depends on the
batch and row-group size, never on the row count.

    >>> import tempfile, pathlib, numpy as np, pyarrow as pa, pyarrow.parquet as pq
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> pq.write_table(pa.table({"x": np.arange(1000.0), "c": ["a", "b"] * 500}), d / "p.parquet")
    >>> prof = profile_dataset(d)
    >>> prof.kinds, prof.columns["x"].n_rows, prof.columns["c"].counts()
    ({'x': 'numeric', 'c': 'categorical'}, 1000, {'a': 500, 'b': 500})
    >>> count_rows(d)
    1000
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelsteward.baseline.columns import epoch_seconds
from modelsteward.baseline.sketch import (
    DEFAULT_K,
    CategoricalSketch,
    NumericSketch,
    SketchProfile,
)
from modelsteward.errors import DataError, MissingColumnError, UnsupportedInputError

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "count_rows",
    "infer_kinds",
    "is_dataset_source",
    "iter_batches",
    "iter_column_batches",
    "dataset_schema",
    "profile_dataset",
    "read_table",
    "resolve_paths",
    "small_csv_table",
    "update_profile_from_arrow",
]

DEFAULT_BATCH_SIZE = 131_072
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv")


def is_dataset_source(data: Any) -> bool:
    """True for a path, a glob or a list of them (what this module reads)."""
    if isinstance(data, (str, os.PathLike)):
        return True
    return (
        isinstance(data, (list, tuple))
        and len(data) > 0
        and all(isinstance(p, (str, os.PathLike)) for p in data)
    )


def _data_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file()
        and p.name.lower().endswith(_PARQUET + _CSV)
        and not p.name.startswith((".", "_"))
    )


def resolve_paths(source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files named by a path, directory, glob or list of them (sorted, duplicates removed)."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    found: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if any(ch in text for ch in "*?["):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            for m in matches:
                found.extend(_data_files(m) if m.is_dir() else [m])
            if not matches:
                raise DataError(f"no file matches {text!r}; check the glob pattern")
            continue
        path = Path(text)
        if path.is_dir():
            files = _data_files(path)
            if not files:
                raise DataError(
                    f"directory {text!r} holds no .parquet or .csv file; point at the data"
                )
            found.extend(files)
        elif path.is_file():
            found.append(path)
        else:
            raise DataError(f"{text!r} does not exist; pass a file, a directory or a glob")
    seen: set[Path] = set()
    unique = [p for p in found if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]
    return unique


def _format_of(paths: Sequence[Path]) -> str:
    kinds = {"parquet" if p.name.lower().endswith(_PARQUET) else "csv" for p in paths}
    unknown = [p for p in paths if not p.name.lower().endswith(_PARQUET + _CSV)]
    if unknown:
        raise UnsupportedInputError(
            f"cannot read {unknown[0]}: only .parquet/.pq and .csv/.csv.gz/.tsv files are read"
        )
    if len(kinds) > 1:
        raise UnsupportedInputError(
            "the source mixes Parquet and CSV files; pass one format at a time"
        )
    return kinds.pop()


def _csv_options(path: Path, kinds: Mapping[str, str] | None) -> tuple[Any, Any, pa.Schema]:
    import pyarrow.csv as pacsv

    delimiter = "\t" if path.name.lower().endswith(".tsv") else ","
    parse = pacsv.ParseOptions(delimiter=delimiter)
    # infer once from the file's first block, then pin every column's type so that a later
    # block cannot re-guess it (numeric -> float64, categorical -> string)
    with pacsv.open_csv(path, parse_options=parse) as reader:
        inferred = reader.schema
    types: dict[str, pa.DataType] = {}
    for f in inferred:
        kind = (kinds or {}).get(f.name)
        if kind is None:
            kind = "numeric" if _is_numeric_or_temporal(f.type) else "categorical"
        if kind == "numeric" and _is_temporal_type(f.type):
            types[f.name] = f.type  # parsed as a timestamp, read as epoch seconds
        else:
            types[f.name] = pa.float64() if kind == "numeric" else pa.string()
    schema = pa.schema([(name, t) for name, t in types.items()])
    return parse, types, schema


def _is_numeric_type(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def _is_temporal_type(t: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_duration(t))


def _is_numeric_or_temporal(t: pa.DataType) -> bool:
    return _is_numeric_type(t) or _is_temporal_type(t)


def infer_kinds(schema: pa.Schema) -> dict[str, str]:
    """Column kinds from an Arrow schema: integer/float/decimal numeric, timestamps, dates
    and durations numeric too (read as epoch seconds in UTC, as ``as_columns`` reads them),
    the rest categorical."""
    return {
        f.name: "numeric" if _is_numeric_or_temporal(f.type) else "categorical" for f in schema
    }


def dataset_schema(source: Any, kinds: Mapping[str, str] | None = None) -> pa.Schema:
    """The Arrow schema of the source's first file (CSV: with the pinned column types)."""
    import pyarrow.parquet as pq

    paths = resolve_paths(source)
    if _format_of(paths) == "parquet":
        return pq.read_schema(paths[0])
    return _csv_options(paths[0], kinds)[2]


def count_rows(source: Any) -> int | None:
    """Row count from Parquet metadata (no data read); None for CSV (unknown until read)."""
    import pyarrow.parquet as pq

    paths = resolve_paths(source)
    if _format_of(paths) != "parquet":
        return None
    return int(sum(pq.ParquetFile(p).metadata.num_rows for p in paths))


#: CSV sources up to this size are read whole to learn their row count (for ``mode="auto"``)
SMALL_CSV_BYTES = 256 * 2**20


def small_csv_table(source: Any, limit_bytes: int = SMALL_CSV_BYTES) -> pa.Table | None:
    """A CSV source of at most ``limit_bytes`` on disk as one table; None for Parquet or
    larger CSV (whose row count is then unknown without a full pass)."""
    paths = resolve_paths(source)
    if _format_of(paths) != "csv" or sum(p.stat().st_size for p in paths) > limit_bytes:
        return None
    return read_table(paths)


def iter_batches(
    source: Any,
    columns: Sequence[str] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    kinds: Mapping[str, str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Record batches of the source, file after file, one batch in memory at a time.

    Files are read sequentially (``ParquetFile.iter_batches`` / the streaming CSV reader):
    a multi-threaded dataset scan with read-ahead measured a peak memory growing with the
    number of files here, this does not.
    """
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    paths = resolve_paths(source)
    fmt = _format_of(paths)
    for path in paths:
        if fmt == "parquet":
            with pq.ParquetFile(path) as pf:
                names = pf.schema_arrow.names
                _check_columns(columns, names, path)
                yield from pf.iter_batches(
                    batch_size=int(batch_size), columns=list(columns) if columns else None
                )
        else:
            parse, types, schema = _csv_options(path, kinds)
            _check_columns(columns, schema.names, path)
            convert = pacsv.ConvertOptions(
                column_types=types, include_columns=list(columns) if columns else None
            )
            read = pacsv.ReadOptions(block_size=1 << 22)
            with pacsv.open_csv(
                path, read_options=read, parse_options=parse, convert_options=convert
            ) as reader:
                yield from reader


def _check_columns(columns: Sequence[str] | None, names: Sequence[str], path: Path) -> None:
    if columns is None:
        return
    missing = [c for c in columns if c not in names]
    if missing:
        raise MissingColumnError(
            f"column(s) {missing} are not in the dataset ({path} has {list(names)}); "
            "check the names"
        )


def _numpy_of(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if _is_temporal_type(arr.type):  # timestamps (UTC inside Arrow), dates, durations
        return epoch_seconds(np.asarray(arr.to_numpy(zero_copy_only=False)))
    if _is_numeric_type(arr.type):
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
    source: Any,
    columns: Sequence[str] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[dict[str, np.ndarray]]:
    """Batches as ``{column: numpy array}`` (numeric with NaN for nulls, strings as objects)."""
    for batch in iter_batches(source, columns, batch_size=batch_size):
        yield {name: _numpy_of(batch.column(i)) for i, name in enumerate(batch.schema.names)}


def read_table(source: Any, columns: Sequence[str] | None = None) -> pa.Table:
    """The whole source as one Arrow table (for small data and exact mode only)."""
    batches = list(iter_batches(source, columns))
    if not batches:
        raise DataError(f"{source!r} holds no rows; point at data with rows")
    return pa.Table.from_batches(batches)


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
    source: Any,
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
    names = list(columns) if columns is not None else list(schema.names)
    _check_columns(names, schema.names, resolve_paths(source)[0])
    schema_kinds = infer_kinds(schema)
    resolved = {n: (kinds or {}).get(n) or schema_kinds[n] for n in names}
    profile = SketchProfile.empty(resolved, k=k)
    rows = 0
    for batch in iter_batches(source, names, batch_size=batch_size, kinds=kinds):
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
    source: Any,
    kinds: Mapping[str, str] | None,
    columns: Sequence[str] | None,
    k: int,
    batch_size: int,
    workers: int,
) -> SketchProfile:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from modelsteward.baseline.sketch import merge_profiles

    files = [str(p) for p in resolve_paths(source)]
    schema = dataset_schema(files, kinds)
    names = list(columns) if columns is not None else list(schema.names)
    schema_kinds = infer_kinds(schema)
    resolved = {n: (kinds or {}).get(n) or schema_kinds[n] for n in names}
    groups = [files[i::workers] for i in range(min(workers, len(files)))]
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with Arrow threads
    with ProcessPoolExecutor(max_workers=len(groups), mp_context=ctx) as pool:
        blobs = list(pool.map(
            _profile_files, groups, [resolved] * len(groups), [names] * len(groups),
            [k] * len(groups), [batch_size] * len(groups),
        ))
    return merge_profiles([SketchProfile.from_bytes(b) for b in blobs])
