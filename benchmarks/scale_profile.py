"""Beyond one machine: profile N rows x 20 numeric columns of Parquet in bounded memory.

Stages, each contender in its own process (wall time and peak RSS from ``wait4``):

1. generate   N rows x 20 float64 columns as Parquet files of 1,000,000 rows under
              benchmarks/data/scale_profile/ (gitignored; cached, regenerated when N changes)
2. stream     modelsteward: ``profile_dataset`` over every file, batch by batch, one process
3. spark      modelsteward.spark.profile_spark on the same files, Spark local[2]
   spark-files  modelsteward.spark.profile_files_on_spark: Spark schedules, pyarrow reads
4. whylogs    whylogs 1.6 (in .venv-bench-whylogs, created here when missing) profiling the
              first --whylogs-rows rows, against modelsteward profiling the same rows (both
              from the same in-memory frame; reading the files is timed separately)
5. accuracy   sketch vs exact KS D and drift decisions on --accuracy-rows rows per side

    python benchmarks/scale_profile.py                     # 50,000,000 rows (slow: ~8 GB)
    python benchmarks/scale_profile.py --rows 5000000 --stages stream,whylogs,accuracy
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "benchmarks" / "data" / "scale_profile"
WHYLOGS_VENV = REPO / ".venv-bench-whylogs"
RESULT_MARK = "@@RESULT "
FILE_ROWS = 1_000_000
N_COLS = 20
TELEMETRY_OFF = {"WHYLOGS_NO_ANALYTICS": "True", "DO_NOT_TRACK": "1"}


def _log(msg: str) -> None:
    print(f"[scale_profile {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


# ------------------------------------------------------------------------------ data
def _column(rng: np.random.Generator, j: int, n: int, shift: float = 0.0) -> np.ndarray:
    """Column ``j``: five families (two with heavy ties), 1% NaN in every fourth column;
    ``shift`` moves the distribution's location by that many standard deviations."""
    family = j % 5
    if family == 0:
        x = rng.normal(shift, 1.0, n)
    elif family == 1:
        x = rng.lognormal(shift, 1.0, n)  # shift in log-sd
    elif family == 2:
        x = rng.poisson(4.0 + 2.0 * shift, n).astype(np.float64)  # heavy ties; sd = 2
    elif family == 3:
        x = np.round(rng.normal(50.0 + 10.0 * shift, 10.0, n), 1)
    else:
        x = rng.exponential(3.0, n) + 3.0 * shift
    if j % 4 == 1:
        x[rng.random(n) < 0.01] = np.nan
    return x


def generate(rows: int, out: Path = DATA) -> list[Path]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    meta = out / "_meta.json"  # "_" so Spark and resolve_paths skip it
    n_files = -(-rows // FILE_ROWS)
    files = [out / f"part-{i:05d}.parquet" for i in range(n_files)]
    if meta.exists() and json.loads(meta.read_text()).get("rows") == rows and all(
        f.exists() for f in files
    ):
        _log(f"data cached: {rows:,} rows in {n_files} files under {out}")
        return files
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("part-*.parquet"):
        old.unlink()
    started = time.perf_counter()
    for i, path in enumerate(files):
        n = min(FILE_ROWS, rows - i * FILE_ROWS)
        rng = np.random.default_rng(1000 + i)
        table = pa.table({f"c{j:02d}": _column(rng, j, n) for j in range(N_COLS)})
        pq.write_table(table, path, row_group_size=250_000, compression="snappy")
        if i % 5 == 4 or i == n_files - 1:
            done = min((i + 1) * FILE_ROWS, rows)
            rate = done / (time.perf_counter() - started)
            _log(f"generate: {done:,}/{rows:,} rows ({rate / 1e6:.1f} M rows/s)")
    meta.write_text(json.dumps({"rows": rows, "cols": N_COLS}))
    return files


# ------------------------------------------------------------------------------ children
def _emit(result: dict[str, Any]) -> None:
    print(RESULT_MARK + json.dumps(result), flush=True)


def child_stream(args: argparse.Namespace) -> None:
    from modelsteward.baseline.streaming import profile_dataset

    started = time.perf_counter()
    last = [0.0]

    def progress(rows: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 30:
            last[0] = now
            _log(f"stream: {rows:,} rows ({rows / (now - started) / 1e6:.2f} M rows/s)")

    prof = profile_dataset(str(args.data_dir), progress=progress, workers=args.workers)
    elapsed = time.perf_counter() - started
    _emit({"time": elapsed, "rows": prof.n_rows, "bytes": len(prof.to_bytes())})


def child_spark(args: argparse.Namespace) -> None:
    from pyspark.sql import SparkSession

    from modelsteward.spark import profile_spark

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers import modelsteward
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("scale_profile")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter()
    files = sorted(Path(args.data_dir).glob("part-*.parquet"))
    files = files[: max(1, -(-args.spark_rows // FILE_ROWS))]
    df = spark.read.parquet(*[str(f) for f in files])
    prof = profile_spark(df)
    elapsed = time.perf_counter() - started
    spark.stop()
    _emit({"time": elapsed, "rows": prof.n_rows, "bytes": len(prof.to_bytes())})


def child_spark_files(args: argparse.Namespace) -> None:
    from pyspark.sql import SparkSession

    from modelsteward.spark import profile_files_on_spark

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("scale_profile_files")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter()
    prof = profile_files_on_spark(spark, str(args.data_dir))
    elapsed = time.perf_counter() - started
    spark.stop()
    _emit({"time": elapsed, "rows": prof.n_rows, "bytes": len(prof.to_bytes())})


def _first_rows(args: argparse.Namespace) -> tuple[Any, float]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    started = time.perf_counter()
    files = sorted(Path(args.data_dir).glob("part-*.parquet"))
    tables, rows = [], 0
    for f in files:
        if rows >= args.whylogs_rows:
            break
        t = pq.read_table(f)
        tables.append(t.slice(0, args.whylogs_rows - rows))
        rows += tables[-1].num_rows
    return pa.concat_tables(tables), time.perf_counter() - started


def child_whylogs(args: argparse.Namespace) -> None:
    import whylogs as why

    table, read_s = _first_rows(args)
    df = table.to_pandas()
    started = time.perf_counter()
    view = why.log(pandas=df).view()
    elapsed = time.perf_counter() - started
    _emit({"time": elapsed, "read": read_s, "rows": len(df), "columns": len(view.get_columns())})


def child_ms_rows(args: argparse.Namespace) -> None:
    from modelsteward.baseline.sketch import SketchProfile

    table, read_s = _first_rows(args)
    df = table.to_pandas()  # the same frame whylogs gets
    started = time.perf_counter()
    cols = {c: df[c].to_numpy() for c in df.columns}
    prof = SketchProfile.empty({c: "numeric" for c in cols})
    step = 1_000_000
    for lo in range(0, len(df), step):
        prof.update({c: v[lo : lo + step] for c, v in cols.items()})
    elapsed = time.perf_counter() - started
    _emit({"time": elapsed, "read": read_s, "rows": prof.n_rows})


def child_accuracy(args: argparse.Namespace) -> None:
    from scipy import stats

    from modelsteward.baseline import Baseline
    from modelsteward.drift import detect_data_drift

    n = args.accuracy_rows
    rng = np.random.default_rng(7)
    ref = {f"c{j:02d}": _column(rng, j, n) for j in range(N_COLS)}
    shifts = {0: 0.0, 1: 0.002, 2: 0.005, 3: 0.01, 4: 0.02, 5: 0.05}
    cur = {f"c{j:02d}": _column(rng, j, n, shifts[j % 6]) for j in range(N_COLS)}
    t0 = time.perf_counter()
    exact = {r.feature: r for r in detect_data_drift(Baseline.fit(ref), cur, mode="exact")}
    t1 = time.perf_counter()
    sketch = {
        r.feature: r
        for r in detect_data_drift(Baseline.fit(ref, mode="sketch"), cur, mode="sketch")
    }
    t2 = time.perf_counter()
    rows = []
    for name in ref:
        e, s = exact[name], sketch[name]
        rows.append({
            "feature": name,
            "shift_sd": shifts[int(name[1:]) % 6],
            "exact_d": e.statistic,
            "sketch_d": s.statistic,
            "bound": s.statistic_bound,
            "within": abs(s.statistic - e.statistic) <= s.statistic_bound,
            "exact_drift": e.is_drifted,
            "sketch_drift": s.is_drifted,
            "exact_psi": e.psi,
            "sketch_psi": s.psi,
            "psi_bound": s.psi_bound,
            "scipy_d": float(stats.ks_2samp(ref[name], cur[name], nan_policy="omit").statistic),
        })
    _emit({"rows": rows, "exact_s": t1 - t0, "sketch_s": t2 - t1, "n": n})


CHILDREN = {
    "stream": child_stream,
    "spark": child_spark,
    "spark-files": child_spark_files,
    "whylogs": child_whylogs,
    "ms-rows": child_ms_rows,
    "accuracy": child_accuracy,
}


# ------------------------------------------------------------------------------ parent
def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc), in MB."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total / 2**20


def _watch_tree(pid: int, peak: list[float], stop: threading.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], _tree_rss_mb(pid))
        stop.wait(0.25)


def run_child(
    python: str, kind: str, args: argparse.Namespace, workers: int = 1
) -> dict[str, Any]:
    cmd = [python, str(Path(__file__).resolve()), "--child", kind, "--data-dir",
           str(args.data_dir), "--whylogs-rows", str(args.whylogs_rows),
           "--accuracy-rows", str(args.accuracy_rows), "--spark-rows", str(args.spark_rows),
           "--workers", str(workers)]
    load_start = _load()
    _log(f"start {kind} (load {load_start})")
    started = time.perf_counter()
    env = {**os.environ, **TELEMETRY_OFF}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
    peak, stop = [0.0], threading.Event()
    watcher = threading.Thread(target=_watch_tree, args=(proc.pid, peak, stop), daemon=True)
    watcher.start()
    assert proc.stdout is not None
    out = proc.stdout.read()
    stop.set()
    _, status, usage = os.wait4(proc.pid, 0)
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK):])
    code = os.waitstatus_to_exitcode(status)
    if code != 0 or not result:
        result["error"] = f"exit code {code}"
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # the process itself (wait4)
    result["tree_rss_mb"] = max(peak[0], result["peak_rss_mb"])  # + JVM / worker processes
    result["wall"] = time.perf_counter() - started
    result["load"] = f"{load_start} -> {_load()}"
    _log(f"done {kind}: {json.dumps({k: v for k, v in result.items() if k != 'rows'})[:300]}")
    return result


def ensure_whylogs() -> str | None:
    python = WHYLOGS_VENV / "bin" / "python"
    if not python.exists():
        _log(f"creating {WHYLOGS_VENV} with whylogs")
        subprocess.run([sys.executable, "-m", "venv", str(WHYLOGS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "whylogs", "pandas",
                        "pyarrow"], check=False)
    ok = subprocess.run([str(python), "-c", "import whylogs"], env={**os.environ,
                        **TELEMETRY_OFF}, capture_output=True)
    return str(python) if ok.returncode == 0 else None


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f} s"


def render(res: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"Beyond one machine - {args.rows:,} rows x {N_COLS} float64 columns of Parquet "
        f"({args.rows * N_COLS * 8 / 1e9:.1f} GB raw), 2 cores; load at start {res['load0']}",
        "",
        "| contender | rows | time | rows/s | peak RSS (process tree) | load (1/5/15 min) |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in [("stream", "modelsteward streaming, one process"),
                       ("stream2", "modelsteward streaming, 2 processes (files split, merged)"),
                       ("spark", "Spark local[2]: profile_spark(spark.read.parquet(files))"),
                       ("spark-files", "Spark local[2]: profile_files_on_spark (pyarrow)")]:
        r = res.get(key)
        if r:
            if "error" in r:
                lines.append(f"| {label} | - | failed: {r['error']} | | | |")
                continue
            lines.append(f"| {label} | {r['rows']:,} | {_fmt_s(r['time'])} | "
                         f"{r['rows'] / r['time'] / 1e6:.2f} M | {r['tree_rss_mb']:,.0f} MB | "
                         f"{r['load']} |")
    w, m = res.get("whylogs"), res.get("ms-rows")
    if m:
        lines += ["", f"Same {args.whylogs_rows:,} rows in memory (profiling only):", "",
                  "| tool | profile time | peak RSS | ratio |", "|---|---|---|---|"]
        if w and "error" not in w:
            lines.append(f"| whylogs 1.6 | {_fmt_s(w['time'])} | {w['peak_rss_mb']:,.0f} MB | "
                         "1.0x |")
        if "error" not in m:
            ratio = (f"{w['time'] / m['time']:.1f}x faster" if w and "error" not in w
                     else "whylogs not measured")
            lines.append(f"| modelsteward sketches | {_fmt_s(m['time'])} | "
                         f"{m['peak_rss_mb']:,.0f} MB | {ratio} |")
    a = res.get("accuracy")
    if a and "error" not in a:
        lines += ["", f"Accuracy on {a['n']:,} rows per side (reference vs shifted current; "
                  f"p < 0.01; exact check {a['exact_s']:.1f} s, sketch {a['sketch_s']:.1f} s):",
                  "", "| col | shift (sd) | exact D | sketch D | bound | within | exact drift "
                  "| sketch drift | exact PSI | sketch PSI (+-) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in a["rows"]:
            lines.append(
                f"| {r['feature']} | {r['shift_sd']} | {r['exact_d']:.5f} | {r['sketch_d']:.5f} "
                f"| {r['bound']:.5f} | {'yes' if r['within'] else 'NO'} | "
                f"{'drift' if r['exact_drift'] else '-'} | "
                f"{'drift' if r['sketch_drift'] else '-'} | {r['exact_psi']:.5f} | "
                f"{r['sketch_psi']:.5f} +- {r['psi_bound']:.5f} |")
        agree = sum(r["exact_drift"] == r["sketch_drift"] for r in a["rows"])
        within = sum(r["within"] for r in a["rows"])
        lines.append(f"\nD within bound: {within}/{len(a['rows'])}; same decision: "
                     f"{agree}/{len(a['rows'])}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50_000_000)
    ap.add_argument("--whylogs-rows", type=int, default=5_000_000)
    ap.add_argument("--accuracy-rows", type=int, default=1_000_000)
    ap.add_argument("--spark-rows", type=int, default=None,
                    help="rows (first files) Spark profiles; default all (Spark is slow here)")
    ap.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument(
        "--stages", default="generate,stream,stream2,spark,spark-files,whylogs,accuracy"
    )
    ap.add_argument("--data-dir", type=Path, default=DATA)
    ap.add_argument("--child", choices=sorted(CHILDREN))
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results"
                    / "scale_profile.md")
    args = ap.parse_args(argv)
    if args.child:
        CHILDREN[args.child](args)
        return 0
    stages = set(args.stages.split(","))
    res: dict[str, Any] = {"load0": _load()}
    if "generate" in stages or not (args.data_dir / "_meta.json").exists():
        generate(args.rows, args.data_dir)
    meta = json.loads((args.data_dir / "_meta.json").read_text())
    if meta["rows"] != args.rows:
        _log(f"data holds {meta['rows']:,} rows, not {args.rows:,}: regenerating")
        generate(args.rows, args.data_dir)
    args.whylogs_rows = min(args.whylogs_rows, args.rows)
    args.spark_rows = min(args.spark_rows or args.rows, args.rows)
    py = sys.executable
    if "stream" in stages:
        res["stream"] = run_child(py, "stream", args)
    if "stream2" in stages:
        res["stream2"] = run_child(py, "stream", args, workers=2)
    if "spark" in stages:
        res["spark"] = run_child(py, "spark", args)
    if "spark-files" in stages:
        res["spark-files"] = run_child(py, "spark-files", args)
    if "whylogs" in stages:
        res["ms-rows"] = run_child(py, "ms-rows", args)
        wpy = ensure_whylogs()
        res["whylogs"] = run_child(wpy, "whylogs", args) if wpy else {"error": "no whylogs"}
    if "accuracy" in stages:
        res["accuracy"] = run_child(py, "accuracy", args)
    text = render(res, args)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    (args.out.with_suffix(".json")).write_text(json.dumps(res, indent=1, default=str))
    return 0 if all("error" not in v for v in res.values() if isinstance(v, dict)) else 1


if __name__ == "__main__":
    sys.exit(main())
