"""Streaming Parquet/CSV sources batch by batch: paths, directories, globs; bounded memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from modelsteward.baseline.sketch import NumericSketch, SketchProfile
from modelsteward.baseline.streaming import iter_column_batches, profile_dataset
from modelsteward.baseline.summary import ks_distance
from modelsteward.errors import DataError, MissingColumnError, UnsupportedInputError
from modelsteward.io import count_rows, resolve_paths


def _table(seed: int, n: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.05] = np.nan
    i = pa.array(rng.integers(0, 100, n), mask=rng.random(n) < 0.01)
    cat = pa.array(rng.choice(np.array(["a", "b", "c"]), n).tolist(), mask=rng.random(n) < 0.03)
    return pa.table({"x": x, "i": i, "cat": cat})


@pytest.fixture()
def parquet_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for part in range(4):
        sub = root / f"day={part}"
        sub.mkdir(parents=True)
        pq.write_table(_table(part, 25_000), sub / "part-0.parquet", row_group_size=7_000)
    return root


def test_directory_glob_and_list_give_the_same_profile(parquet_dir: Path) -> None:
    files = resolve_paths(parquet_dir)
    assert len(files) == 4
    by_dir = profile_dataset(parquet_dir, batch_size=5_000)
    by_glob = profile_dataset(str(parquet_dir / "day=*" / "*.parquet"))
    by_list = profile_dataset([str(f) for f in reversed(files)])
    whole = pa.concat_tables([pq.read_table(f) for f in files])
    x = whole.column("x").to_numpy()
    for prof in (by_dir, by_glob, by_list):
        assert prof.kinds == {"x": "numeric", "i": "numeric", "cat": "categorical"}
        px = prof.columns["x"]
        assert isinstance(px, NumericSketch)
        assert px.n_rows == 100_000 and px.n_null == int(np.isnan(x).sum())
        assert px.mean == pytest.approx(np.nanmean(x), rel=1e-12)
        assert prof.columns["i"].n_null == whole.column("i").null_count
        cat = prof.columns["cat"]
        assert cat.n_null == whole.column("cat").null_count
        assert sum(cat.counts().values()) == 100_000 - cat.n_null  # type: ignore[union-attr]
    d, bound = ks_distance(by_dir.columns["x"], by_list.columns["x"])  # type: ignore[arg-type]
    assert d <= bound
    assert count_rows(parquet_dir) == 100_000


def test_streamed_profile_equals_the_in_memory_profile(parquet_dir: Path) -> None:
    table = pa.concat_tables([pq.read_table(f) for f in resolve_paths(parquet_dir)])
    in_memory = SketchProfile.from_columns(
        {
            "x": table.column("x").to_numpy(),
            "cat": np.asarray(table.column("cat").to_pylist(), dtype=object),
        },
        kinds={"x": "numeric", "cat": "categorical"},
    )
    streamed = profile_dataset(parquet_dir, columns=["x", "cat"])
    assert streamed.columns["cat"].counts() == in_memory.columns["cat"].counts()  # type: ignore[union-attr]
    sx, mx = streamed.columns["x"], in_memory.columns["x"]
    assert isinstance(sx, NumericSketch) and isinstance(mx, NumericSketch)
    assert (sx.n_rows, sx.n_null) == (mx.n_rows, mx.n_null)
    assert sx.variance == pytest.approx(mx.variance, rel=1e-10)


def test_csv_files_are_read_with_pinned_kinds(tmp_path: Path) -> None:
    for part in range(2):
        t = _table(10 + part, 3_000)
        pacsv.write_csv(t, tmp_path / f"p{part}.csv")
    prof = profile_dataset(tmp_path / "*.csv", kinds={"i": "categorical"})
    assert prof.kinds == {"x": "numeric", "i": "categorical", "cat": "categorical"}
    assert prof.columns["x"].n_rows == 6_000
    assert count_rows(tmp_path / "*.csv") is None
    batches = list(iter_column_batches(tmp_path / "p0.csv", columns=["x"]))
    assert sum(len(b["x"]) for b in batches) == 3_000


def test_bad_sources_raise_clear_errors(tmp_path: Path, parquet_dir: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        resolve_paths(tmp_path / "nope.parquet")
    with pytest.raises(DataError, match="no file matches"):
        resolve_paths(str(tmp_path / "*.nothing"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="holds no"):
        resolve_paths(empty)
    (tmp_path / "a.json").write_text("{}")
    with pytest.raises(UnsupportedInputError, match="only .parquet"):
        profile_dataset(tmp_path / "a.json")
    with pytest.raises(MissingColumnError, match="not in the dataset"):
        profile_dataset(parquet_dir, columns=["nope"])


_RSS_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from modelsteward.baseline.streaming import profile_dataset
    prof = profile_dataset(sys.argv[1], batch_size=65_536)
    assert prof.columns["c0"].n_rows == int(sys.argv[2])
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
    """
)


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_row_count(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    chunk = pa.table({f"c{j}": rng.normal(size=250_000) for j in range(4)})  # 8 MB
    small, large = tmp_path / "small", tmp_path / "large"
    small.mkdir()
    large.mkdir()
    pq.write_table(chunk, small / "p0.parquet", row_group_size=50_000)
    for i in range(12):  # 3M rows, 96 MB raw
        pq.write_table(chunk, large / f"p{i}.parquet", row_group_size=50_000)

    def peak_mb(path: Path, rows: int) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_SCRIPT, str(path), str(rows)],
            capture_output=True, text=True, check=True,
        )
        return int(out.stdout.strip().splitlines()[-1])

    grow = peak_mb(large, 3_000_000) - peak_mb(small, 250_000)
    assert grow < 40, f"peak RSS grew by {grow} MB for 88 MB more data"


def test_profiling_files_in_two_processes_equals_one_process(parquet_dir: Path) -> None:
    one = profile_dataset(parquet_dir)
    two = profile_dataset(parquet_dir, workers=2)
    assert two.kinds == one.kinds
    for name in ("x", "i"):
        a, b = one.columns[name], two.columns[name]
        assert isinstance(a, NumericSketch) and isinstance(b, NumericSketch)
        assert (a.n_rows, a.n_null, a.n_distinct) == (b.n_rows, b.n_null, b.n_distinct)
        assert a.mean == pytest.approx(b.mean, rel=1e-12)
        d, bound = ks_distance(a, b)
        assert d <= bound
    assert one.columns["cat"].counts() == two.columns["cat"].counts()  # type: ignore[union-attr]
