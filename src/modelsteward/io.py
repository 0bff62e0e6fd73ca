"""Reading data files: the one reader of CSV/Parquet files, directories and globs.

Every command and function that takes a path reads it here (``steward drift``, ``steward
baseline fit``, ``steward monitor --data``, ``Baseline.fit("data/*.parquet")``, the streaming
profiler), so a file means the same thing everywhere.

A *source* is a path to a file, a directory (every ``.parquet``/``.pq``/``.csv``/
``.csv.gz``/``.tsv`` file under it, recursively, except names starting with ``.`` or ``_``),
a glob (``data/2026-*/part-*.parquet``) or a list of those (CSV and Parquet may mix).

**Nulls in CSV.** An empty field and the tokens of :data:`NULL_TOKENS` (pandas' default
missing-value markers: ``NA``, ``N/A``, ``n/a``, ``NaN``, ``nan``, ``NULL``, ``null``,
``None``, ``<NA>``, ``#N/A`` ...) are null, in every column, string columns included (an
empty field is never the category ``""``), quoted or not. Everything else is a value.
Parquet nulls are Parquet's.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "week.csv").write_text("x,plan\\n1.5,basic\\n,NA\\nNULL,\\n")
    >>> t = read_table(d / "week.csv")
    >>> t.column("x").null_count, t.column("plan").to_pylist()
    (2, ['basic', None, None])
    >>> (d / "empty.csv").write_bytes(b"")
    0
    >>> read_table(d / "empty.csv")
    Traceback (most recent call last):
    ...
    modelsteward.errors.EmptyDataError: empty.csv is empty (0 bytes); pass a CSV or ...
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeAlias, TypeGuard

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modelsteward.errors import (
    DataError,
    EmptyDataError,
    MissingColumnError,
    UnsupportedInputError,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "NULL_TOKENS",
    "SMALL_CSV_BYTES",
    "Source",
    "check_columns",
    "count_rows",
    "csv_schema",
    "dataset_schema",
    "is_dataset_source",
    "is_numeric_type",
    "is_temporal_type",
    "iter_batches",
    "read_table",
    "resolve_paths",
    "small_csv_table",
]

#: a path, a glob or a list of them
Source: TypeAlias = "str | os.PathLike[str] | Sequence[str | os.PathLike[str]]"

DEFAULT_BATCH_SIZE = 131_072
#: CSV fields read as null in every column (pandas' default ``na_values``, written out here
#: so that the meaning does not change with the installed pandas)
NULL_TOKENS: tuple[str, ...] = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)
_PARQUET = (".parquet", ".pq")
_CSV = (".csv", ".csv.gz", ".tsv", ".tsv.gz")


def is_dataset_source(data: object) -> TypeGuard[Source]:
    """True for a path, a glob or a non-empty list of them (what this module reads).

    >>> is_dataset_source("data/*.parquet"), is_dataset_source({"x": [1]})
    (True, False)
    """
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


def resolve_paths(source: Source) -> list[Path]:
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
    return [p for p in found if not (p in seen or seen.add(p))]  # type: ignore[func-returns-value]


def _format_of(path: Path) -> str:
    """``"parquet"`` or ``"csv"`` from the file name; UnsupportedInputError otherwise."""
    name = path.name.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    if name.endswith(_CSV):
        return "csv"
    raise UnsupportedInputError(
        f"cannot read {path}: only .parquet/.pq and .csv/.csv.gz/.tsv files are read"
    )


def _formats(paths: Sequence[Path]) -> set[str]:
    return {_format_of(p) for p in paths}


def _check_not_empty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise EmptyDataError(f"{path.name} is empty (0 bytes); pass a CSV or Parquet file with "
                             "a header row and data")


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _csv_error(path: Path, exc: BaseException) -> DataError:
    if "Empty CSV file" in str(exc):
        return EmptyDataError(f"{path.name} has no columns; pass a CSV file with a header row "
                              "and data")
    hint = ("; a column whose first rows are all empty is read as numeric: declare its kind"
            if "conversion error" in str(exc) else "")
    return DataError(f"cannot read {path.name} as CSV ({_first_line(exc)}); check the file "
                     f"(text, comma separated, one header row){hint}")


def _parquet_error(path: Path, exc: BaseException) -> DataError:
    return DataError(f"cannot read {path.name} as Parquet ({_first_line(exc)}); check that the "
                     "file is complete and really Parquet")


def is_numeric_type(t: pa.DataType) -> bool:
    """Integer, floating point or decimal."""
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


def is_temporal_type(t: pa.DataType) -> bool:
    """Timestamp, date or duration (read as seconds)."""
    return bool(pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_duration(t))


def _parse_options(path: Path) -> Any:
    tab = path.name.lower().endswith((".tsv", ".tsv.gz"))
    return pacsv.ParseOptions(delimiter="\t" if tab else ",")


def _convert_options(column_types: Mapping[str, pa.DataType] | None = None,
                     columns: Sequence[str] | None = None) -> Any:
    """The one null semantics of CSV (see the module docstring)."""
    return pacsv.ConvertOptions(
        null_values=list(NULL_TOKENS), strings_can_be_null=True, quoted_strings_can_be_null=True,
        column_types=dict(column_types or {}),
        include_columns=list(columns) if columns else None,
    )


def _pinned_csv_types(path: Path, kinds: Mapping[str, str] | None) -> dict[str, pa.DataType]:
    """Column types of a CSV file for streaming: inferred once from its first block, then
    pinned so that a later block cannot re-guess them. A column of ``kinds`` is read as its
    kind (numeric: float64, or the parsed temporal type; categorical: string); any other
    column is widened so later blocks still parse (integers: float64, no value yet: string).
    Kinds themselves are decided by ``baseline.infer_kind``, never here."""
    types: dict[str, pa.DataType] = {}
    for f in csv_schema(path):
        kind = (kinds or {}).get(f.name)
        if kind == "categorical":
            types[f.name] = pa.string()
        elif is_temporal_type(f.type):
            types[f.name] = f.type  # parsed as a timestamp, read as epoch seconds
        elif kind == "numeric" or pa.types.is_integer(f.type):
            types[f.name] = pa.float64()
        elif pa.types.is_null(f.type):
            types[f.name] = pa.string()
        else:
            types[f.name] = f.type
    return types


def csv_schema(path: Path) -> pa.Schema:
    """The types pyarrow infers from a CSV file's first block (with the null tokens)."""
    try:
        with pacsv.open_csv(path, parse_options=_parse_options(path),
                            convert_options=_convert_options()) as reader:
            return reader.schema
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
        raise _csv_error(path, exc) from None


def dataset_schema(source: Source, kinds: Mapping[str, str] | None = None) -> pa.Schema:
    """The Arrow schema of the source's first file (CSV: the types inferred from its first
    block, with the columns of ``kinds`` as they will be read)."""
    paths = resolve_paths(source)
    _formats(paths)
    _check_not_empty(paths[0])
    if _format_of(paths[0]) == "parquet":
        try:
            return pq.read_schema(paths[0])
        except (pa.ArrowInvalid, OSError) as exc:
            raise _parquet_error(paths[0], exc) from None
    inferred = csv_schema(paths[0])
    if not kinds:
        return inferred
    pinned = _pinned_csv_types(paths[0], kinds)
    return pa.schema([(f.name, pinned[f.name] if f.name in kinds else f.type)
                      for f in inferred])


def count_rows(source: Source) -> int | None:
    """Row count from Parquet metadata (no data read); None for CSV (unknown until read)."""
    paths = resolve_paths(source)
    if _formats(paths) != {"parquet"}:
        return None
    total = 0
    for p in paths:
        _check_not_empty(p)
        try:
            total += int(pq.ParquetFile(p).metadata.num_rows)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _parquet_error(p, exc) from None
    return total


#: CSV sources up to this size are read whole to learn their row count (for ``mode="auto"``)
SMALL_CSV_BYTES = 256 * 2**20


def small_csv_table(source: Source, limit_bytes: int = SMALL_CSV_BYTES) -> pa.Table | None:
    """A CSV source of at most ``limit_bytes`` on disk as one table; None for Parquet or
    larger CSV (whose row count is then unknown without a full pass)."""
    paths = resolve_paths(source)
    if _formats(paths) != {"csv"} or sum(p.stat().st_size for p in paths) > limit_bytes:
        return None
    return read_table(paths)


def check_columns(columns: Sequence[str] | None, names: Sequence[str], path: Path) -> None:
    """MissingColumnError naming the ``columns`` that ``path`` (holding ``names``) lacks."""
    if columns is None:
        return
    missing = [c for c in columns if c not in names]
    if missing:
        raise MissingColumnError(
            f"column(s) {missing} are not in the dataset ({path} has {list(names)}); "
            "check the names"
        )


def iter_batches(
    source: Source,
    columns: Sequence[str] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    kinds: Mapping[str, str] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Record batches of the source, file after file, one batch in memory at a time.

    Files are read sequentially (``ParquetFile.iter_batches`` / the streaming CSV reader):
    a multi-threaded dataset scan with read-ahead measured a peak memory growing with the
    number of files here, this does not. CSV column types are pinned per file from its first
    block (``kinds`` overrides them: numeric -> float64, categorical -> string).
    """
    paths = resolve_paths(source)
    _formats(paths)
    for path in paths:
        _check_not_empty(path)
        if _format_of(path) == "parquet":
            try:
                pf = pq.ParquetFile(path)
            except (pa.ArrowInvalid, OSError) as exc:
                raise _parquet_error(path, exc) from None
            with pf:
                check_columns(columns, pf.schema_arrow.names, path)
                batches = pf.iter_batches(
                    batch_size=int(batch_size), columns=list(columns) if columns else None
                )
                while True:
                    try:
                        batch = next(batches)
                    except StopIteration:
                        break
                    except (pa.ArrowInvalid, OSError) as exc:  # a truncated row group
                        raise _parquet_error(path, exc) from None
                    yield batch
            continue
        types = _pinned_csv_types(path, kinds)
        check_columns(columns, list(types), path)
        read = pacsv.ReadOptions(block_size=1 << 22)
        try:
            reader = pacsv.open_csv(path, read_options=read, parse_options=_parse_options(path),
                                    convert_options=_convert_options(types, columns))
        except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError) as exc:
            raise _csv_error(path, exc) from None
        with reader:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    break
                except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                    raise _csv_error(path, exc) from None
                yield batch


def _read_one(path: Path, columns: Sequence[str] | None,
              kinds: Mapping[str, str] | None) -> pa.Table:
    _check_not_empty(path)
    if _format_of(path) == "parquet":
        try:
            names = pq.read_schema(path).names
        except (pa.ArrowInvalid, OSError) as exc:
            raise _parquet_error(path, exc) from None
        check_columns(columns, names, path)
        try:
            return pq.read_table(path, columns=list(columns) if columns else None)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _parquet_error(path, exc) from None
    pinned = {n: pa.string() for n, k in (kinds or {}).items() if k == "categorical"}
    try:
        table = pacsv.read_csv(path, parse_options=_parse_options(path),
                               convert_options=_convert_options(pinned))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise _csv_error(path, exc) from None
    check_columns(columns, table.column_names, path)
    return table.select(list(columns)) if columns else table


def read_table(
    source: Source,
    columns: Sequence[str] | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
) -> pa.Table:
    """The whole source as one Arrow table (exact mode, the CLI, the monitor's files).

    CSV types are inferred over the whole file by pyarrow (integers stay integers, ISO
    timestamps become timestamps); ``kinds`` pins categorical columns to text, so ``"007"``
    stays ``"007"``. Nulls follow :data:`NULL_TOKENS`. Several files
    are concatenated (their schemas unified). Errors: a missing path or no match
    (:class:`~modelsteward.errors.DataError`), an empty file, a CSV without a header or a
    source without rows (:class:`~modelsteward.errors.EmptyDataError`), a file that is not
    valid CSV/Parquet (``DataError``), an unknown suffix
    (:class:`~modelsteward.errors.UnsupportedInputError`).
    """
    paths = resolve_paths(source)
    _formats(paths)
    tables = [_read_one(p, columns, kinds) for p in paths]
    try:
        table = tables[0] if len(tables) == 1 else pa.concat_tables(
            tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"the files of {os.fspath(paths[0].parent)!r} do not share one schema "
                        f"({_first_line(exc)}); pass files with the same columns") from None
    if table.num_rows == 0:
        raise EmptyDataError(f"{_describe(source)} holds no rows; point at data with rows")
    return table


def _describe(source: Source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    items = [os.fspath(s) for s in source]
    return items[0] if len(items) == 1 else f"{items[0]} (and {len(items) - 1} more)"
