"""The one file reader (modelsteward.io): one null semantics for every command, one place
for the errors on empty, header-only, binary and fake-Parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelsteward.baseline import Baseline
from modelsteward.baseline.streaming import profile_dataset
from modelsteward.errors import DataError, EmptyDataError, UnsupportedInputError
from modelsteward.io import NULL_TOKENS, iter_batches, read_table
from modelsteward.monitor.data import read_production

CSV = "x,plan,code\n1.5,basic,007\n,NA,\nNULL,,010\nnan,None,<NA>\n2.5,pro,011\n"


def _csv(tmp_path: Path, text: str = CSV, name: str = "week.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_null_tokens_are_null_in_every_column_strings_included(tmp_path: Path) -> None:
    t = read_table(_csv(tmp_path))
    assert t.column("x").to_pylist() == [1.5, None, None, None, 2.5]
    assert t.column("plan").to_pylist() == ["basic", None, None, None, "pro"]
    assert t.column("code").null_count == 2  # "" and "<NA>"
    assert {"", "NA", "NULL", "None", "nan", "<NA>", "N/A", "null"} <= set(NULL_TOKENS)


def test_every_command_reads_the_same_nulls(tmp_path: Path) -> None:
    """read_table (steward drift / baseline fit), the streaming profiler (sketch mode) and
    the monitor's read_production agree on the null count of each column."""
    path = _csv(tmp_path)
    table = read_table(path)
    frame = read_production(path, "m")
    streamed = pa.Table.from_batches(list(iter_batches(path)))
    profile = profile_dataset(path)
    exact = Baseline.fit(path, mode="exact")
    sketch = Baseline.fit(path, mode="sketch")
    for name in ("x", "plan", "code"):
        expected = table.column(name).null_count
        assert int(frame[name].isna().sum()) == expected, name
        assert streamed.column(name).null_count == expected, name
        assert profile.columns[name].n_null == expected, name
        assert exact.columns[name].n_null == expected, name
        assert sketch.columns[name].n_null == expected, name
    assert exact.kinds == sketch.kinds == profile.kinds


def test_categorical_kinds_keep_leading_zeros(tmp_path: Path) -> None:
    path = _csv(tmp_path)
    assert read_table(path).column("code").to_pylist()[0] == 7  # inferred: integer
    pinned = read_table(path, kinds={"code": "categorical"})
    assert pinned.column("code").to_pylist() == ["007", None, "010", None, "011"]


def test_csv_and_parquet_files_read_together(tmp_path: Path) -> None:
    _csv(tmp_path, "x,plan\n1,a\n2,b\n", "p0.csv")
    pq.write_table(pa.table({"x": [3.5], "plan": ["c"]}), tmp_path / "p1.parquet")
    t = read_table(tmp_path)
    assert t.num_rows == 3 and t.column("x").to_pylist() == [1.0, 2.0, 3.5]


@pytest.mark.parametrize("read", [read_table, lambda p: list(iter_batches(p)),
                                  lambda p: read_production(p, "m"), profile_dataset])
def test_bad_files_give_one_typed_error_from_every_reader(tmp_path: Path, read) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(EmptyDataError, match=r"empty \(0 bytes\)"):
        read(empty)
    header_only = _csv(tmp_path, "\n", "header.csv")
    with pytest.raises(EmptyDataError, match="no columns"):
        read(header_only)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match="cannot read binary.csv as CSV"):
        read(binary)
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"\x00\x01not parquet at all" * 10)
    with pytest.raises(DataError, match="cannot read fake.parquet as Parquet"):
        read(fake)
    other = tmp_path / "a.json"
    other.write_text("{}")
    with pytest.raises(UnsupportedInputError, match="only .parquet"):
        read(other)
    with pytest.raises(DataError, match="does not exist"):
        read(tmp_path / "nope.csv")


def test_a_header_without_rows_holds_no_rows(tmp_path: Path) -> None:
    with pytest.raises(EmptyDataError, match="holds no rows"):
        read_table(_csv(tmp_path, "a,b\n", "h.csv"))


def test_streamed_csv_names_the_fix_when_a_late_block_breaks_the_pinned_type(
        tmp_path: Path) -> None:
    rows = ["i,x"] + ["1,"] * 500_000 + ["2,text"]  # x's first block all empty: numeric
    path = _csv(tmp_path, "\n".join(rows) + "\n", "late.csv")
    with pytest.raises(DataError, match="declare its kind"):
        profile_dataset(path)
    prof = profile_dataset(path, kinds={"x": "categorical"})
    assert prof.columns["x"].counts() == {"text": 1}  # type: ignore[union-attr]
    batches = list(iter_batches(path))  # no kinds: a column without values yet reads as text
    assert sum(b.num_rows for b in batches) == 500_001
    assert batches[-1].column("x").to_pylist()[-1] == "text"


def test_whole_reads_infer_types_over_the_whole_file(tmp_path: Path) -> None:
    rows = ["x"] + ["1"] * 300_000 + ["2.5"]
    t = read_table(_csv(tmp_path, "\n".join(rows) + "\n", "w.csv"))
    assert t.column("x").type == pa.float64()
    assert np.isclose(pd.Series(t.column("x").to_pylist()).sum(), 300_002.5)


def test_a_cut_parquet_file_is_a_data_error_from_every_reader(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": np.arange(100_000.0)}), path, row_group_size=10_000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + data[-8:])  # half the file, then the magic
    for read in (read_table, lambda p: list(iter_batches(p)), profile_dataset):
        with pytest.raises(DataError, match="as Parquet"):
            read(path)
