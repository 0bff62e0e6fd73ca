"""Drift speed: modelsteward against the chapter's textbook loop and Evidently, in one run.

Generated data (benchmarks/_drift_data.py): a reference and a current window of N rows each,
100 float64 columns of mixed shape (normal, lognormal, exponential, uniform, gamma, Student t,
Poisson counts and ratings with heavy ties, rounded values, columns with NaN); 10 of them
drift (f0-f9), 90 do not. Contenders, each in its own subprocess so that its peak memory
(``ru_maxrss`` of the child, from ``os.wait4``) is its own:

  (a) textbook     the chapter's loop: ``scipy.stats.ks_2samp`` plus the chapter's numpy
                   decile PSI, per column (NaN dropped first: the chapter's code has no NaN
                   handling and scipy would return NaN for those columns)
  (b) evidently    Evidently's ``Report([DataDriftPreset()])`` with its defaults, run in the
                   separate venv .venv-bench (``make bench-env``: Evidently needs pandas<3),
                   telemetry off, data handed over as Parquet files in benchmarks/data/
  (c) modelsteward ``Baseline.fit`` (timed on its own; the baseline is saved), then in a fresh
                   process ``Baseline.load`` + ``detect_data_drift`` and
                   ``detect_feature_degradation`` on the current window

Wall time is the median of ``--repeats`` runs (Evidently: ``--evidently-repeats``, default 1);
data loading is never timed. The Markdown table is printed and written to benchmarks/results/.

    python benchmarks/drift_speed.py                  # 100k and 1M rows, Evidently at 100k
    python benchmarks/drift_speed.py --quick          # 20k rows, a smoke run (about a minute)
    python benchmarks/drift_speed.py --evidently-rows 100000,1000000   # + Evidently at 1M (~12 min)
    python benchmarks/drift_speed.py --rows 1000000 --no-evidently --profile
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import _drift_data as data  # noqa: E402

RESULT_MARK = "@@DRIFT_SPEED_RESULT "
TELEMETRY_OFF = {
    "DO_NOT_TRACK": "1",
    "EVIDENTLY_DISABLE_TELEMETRY": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}
TARGET_VS_TEXTBOOK = 10.0  # at 1M rows
TARGET_VS_EVIDENTLY = 100.0  # at every size measured
TARGET_MEMORY_FACTOR = 2.0  # peak <= 2 x (raw current window + baseline)


# ---------------------------------------------------------------------------------------------
# small helpers (stdlib + numpy only: this file also runs in .venv-bench)
# ---------------------------------------------------------------------------------------------


def _rss_mb() -> float:
    """Current resident set size of this process in MB (Linux /proc)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _load() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load average: {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def _revision() -> str:
    """The commit measured, and whether src/ had uncommitted changes (shared work tree)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "src/modelsteward"],
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except OSError:
        return "revision unknown"
    if not head:
        return "revision unknown"
    return f"git {head}" + (f" + {len(dirty)} uncommitted file(s) in src/" if dirty else "")


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def _log(message: str) -> None:
    print(f"[drift_speed {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _emit(result: dict[str, Any]) -> None:
    result["load_end"] = _load()
    print(RESULT_MARK + json.dumps(result), flush=True)


def _matrices(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    ref_path, cur_path = data.npy_paths(Path(args.data_dir), args.n_rows, args.seed)
    return np.load(ref_path), np.load(cur_path)


# ---------------------------------------------------------------------------------------------
# children: one contender per process
# ---------------------------------------------------------------------------------------------


def _chapter_psi(
    reference: np.ndarray, current: np.ndarray, n_bins: int = 10, eps: float = 1e-4
) -> float:
    """The chapter's compute_psi, as printed (decile edges of the reference, outer edges inf)."""
    quantiles = np.linspace(0, 100, n_bins + 1)
    bin_edges = np.percentile(reference, quantiles)
    bin_edges[0] = -np.inf
    bin_edges[-1] = np.inf
    ref_counts = np.histogram(reference, bins=bin_edges)[0]
    cur_counts = np.histogram(current, bins=bin_edges)[0]
    ref_pct = ref_counts / len(reference) + eps
    cur_pct = cur_counts / len(current) + eps
    return float(np.sum((cur_pct - ref_pct) * np.log(cur_pct / ref_pct)))


def child_textbook(args: argparse.Namespace) -> dict[str, Any]:
    """(a) the chapter's loop: ks_2samp + decile PSI per column, sorted worst first."""
    from scipy import stats

    rss_imports = _rss_mb()
    ref, cur = _matrices(args)
    reference, current = data.as_column_dict(ref), data.as_column_dict(cur)
    rss_data = _rss_mb()
    totals: list[float] = []
    cpus: list[float] = []
    ks_times: list[float] = []
    psi_times: list[float] = []
    per_column: dict[str, dict[str, float]] = {}
    for rep in range(args.repeats):
        t_ks = t_psi = 0.0
        rows = []
        start, cpu_start = time.perf_counter(), time.process_time()
        for name, ref_values in reference.items():
            t0 = time.perf_counter()
            r = ref_values[~np.isnan(ref_values)]
            c = current[name][~np.isnan(current[name])]
            statistic, p_value = stats.ks_2samp(r, c)
            t1 = time.perf_counter()
            psi = _chapter_psi(r, c)
            t2 = time.perf_counter()
            t_ks += t1 - t0
            t_psi += t2 - t1
            rows.append((name, float(statistic), float(p_value), psi))
        rows.sort(key=lambda row: row[1], reverse=True)
        totals.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
        ks_times.append(t_ks)
        psi_times.append(t_psi)
        _log(f"textbook n={args.n_rows} rep {rep + 1}: {totals[-1]:.2f} s")
        per_column = {n: {"statistic": s, "p_value": p, "psi": q} for n, s, p, q in rows}
    return {
        "contender": "textbook",
        "times": totals,
        "time": _median(totals),
        "cpu": _median(cpus),
        "ks_time": _median(ks_times),
        "psi_time": _median(psi_times),
        "rss_imports_mb": rss_imports,
        "rss_data_mb": rss_data,
        "columns": per_column,
        "drifted_ks": sorted(n for n, v in per_column.items() if v["p_value"] < args.p_threshold),
        "drifted_psi": sorted(n for n, v in per_column.items() if v["psi"] >= args.psi_threshold),
    }


def _evidently_drifted(snapshot_dict: dict[str, Any]) -> tuple[list[str], dict[str, str], Any]:
    """Columns Evidently calls drifted: p-value methods below, distances at/above threshold."""
    drifted, methods, count = [], {}, None
    for metric in snapshot_dict.get("metrics", []):
        config = metric.get("config", {})
        kind = str(config.get("type", ""))
        if kind.endswith("DriftedColumnsCount"):
            count = metric.get("value")
        if not kind.endswith("ValueDrift"):
            continue
        column, method = config["column"], str(config.get("method", ""))
        threshold, value = float(config["threshold"]), float(metric["value"])
        methods[column] = method
        is_p_value = "p_value" in method.replace("-", "_").lower()
        if (value < threshold) if is_p_value else (value >= threshold):
            drifted.append(column)
    return sorted(drifted), methods, count


def child_evidently(args: argparse.Namespace) -> dict[str, Any]:
    """(b) Evidently's data drift report, default preset, on the Parquet files."""
    import evidently
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    rss_imports = _rss_mb()
    ref_path, cur_path = data.parquet_paths(Path(args.data_dir), args.n_rows, args.seed)
    reference, current = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    rss_data = _rss_mb()
    times: list[float] = []
    cpus: list[float] = []
    snapshot = None
    for rep in range(args.repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
        _log(f"evidently n={args.n_rows} rep {rep + 1}: {times[-1]:.1f} s")
    assert snapshot is not None
    drifted, methods, count = _evidently_drifted(snapshot.dict())
    return {
        "contender": "evidently",
        "version": evidently.__version__,
        "pandas": pd.__version__,
        "times": times,
        "time": _median(times),
        "cpu": _median(cpus),
        "rss_imports_mb": rss_imports,
        "rss_data_mb": rss_data,
        "drifted": drifted,
        "methods": sorted(set(methods.values())),
        "drifted_count_reported": count,
    }


def _baseline_dir(args: argparse.Namespace) -> Path:
    """Where ms-fit saves the baseline for ms-check: one directory per run (the parent's
    pid), so two runs at the same time never read each other's half-written baseline."""
    run = f"_run{args.run_id}" if getattr(args, "run_id", None) else ""
    name = f"baseline_v{data.DATA_VERSION}_s{args.seed}_n{args.n_rows}{run}"
    return Path(args.data_dir) / name


def _baseline_nbytes(baseline: Any) -> int:
    """Bytes held in numpy arrays by the baseline's column profiles."""
    total = 0
    for profile in baseline.columns.values():
        for value in vars(profile).values():
            if isinstance(value, np.ndarray):
                total += value.nbytes
    return total


def child_ms_fit(args: argparse.Namespace) -> dict[str, Any]:
    """(c) Baseline.fit on the reference window (then saved for the check process)."""
    import gc

    import modelsteward
    from modelsteward.baseline import Baseline

    rss_imports = _rss_mb()
    ref, _ = _matrices(args)
    del _
    reference = data.as_column_dict(ref)
    rss_data = _rss_mb()
    times: list[float] = []
    cpus: list[float] = []
    baseline = None
    for rep in range(args.repeats):
        baseline = None
        gc.collect()
        start, cpu_start = time.perf_counter(), time.process_time()
        baseline = Baseline.fit(reference)
        times.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu_start)
        _log(f"modelsteward fit n={args.n_rows} rep {rep + 1}: {times[-1]:.2f} s")
    assert baseline is not None
    out, saved, save_error, save_time = _baseline_dir(args), False, None, None
    try:
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        baseline.save(out)
        save_time = time.perf_counter() - start
        saved = True
    except Exception as exc:  # a missing or broken save() is reported, not fatal
        save_error = f"{type(exc).__name__}: {exc}"
    return {
        "contender": "ms_fit",
        "version": modelsteward.__version__,
        "module_file": modelsteward.__file__,
        "times": times,
        "time": _median(times),
        "cpu": _median(cpus),
        "save_time": save_time,
        "saved": saved,
        "save_error": save_error,
        "baseline_mb": _baseline_nbytes(baseline) / 2**20,
        "kinds": _count_kinds(baseline),
        "rss_imports_mb": rss_imports,
        "rss_data_mb": rss_data,
    }


def _count_kinds(baseline: Any) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for profile in baseline.columns.values():
        kind = str(getattr(profile, "kind", "?"))
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def child_ms_check(args: argparse.Namespace) -> dict[str, Any]:
    """(c) load the saved baseline, then detect_data_drift and detect_feature_degradation."""
    from modelsteward.baseline import Baseline
    from modelsteward.drift import detect_data_drift, detect_feature_degradation

    rss_imports = _rss_mb()
    note = None
    load_time = None
    try:
        start = time.perf_counter()
        baseline = Baseline.load(_baseline_dir(args))
        load_time = time.perf_counter() - start
    except Exception as exc:
        # no saved baseline: fit here (untimed); the reference then also counts in peak memory
        note = f"Baseline.load failed ({type(exc).__name__}: {exc}); fitted in this process"
        ref, _ = _matrices(args)
        baseline = Baseline.fit(data.as_column_dict(ref))
        del ref, _
    _, cur = _matrices(args)
    del _
    current = data.as_column_dict(cur)
    rss_data = _rss_mb()

    drift_times: list[float] = []
    results: list[Any] = []
    drift_cpus: list[float] = []
    for rep in range(args.repeats):
        results = []
        start, cpu_start = time.perf_counter(), time.process_time()
        results = detect_data_drift(baseline, current, p_threshold=args.p_threshold)
        drift_times.append(time.perf_counter() - start)
        drift_cpus.append(time.process_time() - cpu_start)
        _log(f"modelsteward drift n={args.n_rows} rep {rep + 1}: {drift_times[-1]:.3f} s")
    degradation_times: list[float] = []
    degradation_cpus: list[float] = []
    alerts: list[Any] = []
    for _rep in range(args.repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        alerts = detect_feature_degradation(baseline, current)
        degradation_times.append(time.perf_counter() - start)
        degradation_cpus.append(time.process_time() - cpu_start)
    profile_text = None
    if args.profile:
        # cProfile sees only the calling thread: run the columns one after another here
        # (private knobs of modelsteward, whichever exists; nothing happens otherwise)
        import importlib

        knobs = []
        for module_name, attr in (
            ("modelsteward.drift._inputs", "PARALLEL_MIN_VALUES"),
            ("modelsteward.drift.data_drift", "_PARALLEL_MIN_VALUES"),
        ):
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            if hasattr(module, attr):
                knobs.append((module, attr, getattr(module, attr)))
                setattr(module, attr, 1 << 62)
        try:
            profile_text = "detect_data_drift (columns serial for profiling)\n" + _profile(
                lambda: detect_data_drift(baseline, current), args.profile_top
            )
            profile_text += "\ndetect_feature_degradation\n" + _profile(
                lambda: detect_feature_degradation(baseline, current), args.profile_top
            )
        finally:
            for module, attr, value in knobs:
                setattr(module, attr, value)
    columns = {
        r.feature: {
            "statistic": float(r.statistic),
            "p_value": float(r.p_value),
            "psi": float(r.psi),
            "test": str(r.test),
            "is_drifted": bool(r.is_drifted),
        }
        for r in results
    }
    return {
        "contender": "ms_check",
        "drift_times": drift_times,
        "drift_time": _median(drift_times),
        "drift_cpu": _median(drift_cpus),
        "degradation_times": degradation_times,
        "degradation_time": _median(degradation_times),
        "degradation_cpu": _median(degradation_cpus),
        "load_time": load_time,
        "note": note,
        "current_mb": cur.nbytes / 2**20,
        "baseline_mb": _baseline_nbytes(baseline) / 2**20,
        "rss_imports_mb": rss_imports,
        "rss_data_mb": rss_data,
        "columns": columns,
        "drifted": sorted(r.feature for r in results if r.is_drifted),
        "drifted_psi": sorted(r.feature for r in results if r.psi >= args.psi_threshold),
        "alerts": sorted({(a.feature, a.alert_type) for a in alerts}),
        "profile": profile_text,
    }


def _profile(call: Any, top: int) -> str:
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.process_time)  # CPU time: robust to the machine's load
    profiler.enable()
    call()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    return out.getvalue()


CHILDREN = {
    "textbook": child_textbook,
    "evidently": child_evidently,
    "ms-fit": child_ms_fit,
    "ms-check": child_ms_check,
}


# ---------------------------------------------------------------------------------------------
# parent: data, subprocesses, table
# ---------------------------------------------------------------------------------------------


def run_child(python: str, kind: str, n_rows: int, repeats: int, args: argparse.Namespace) -> dict:
    """Run one contender in a fresh process; add its peak RSS (ru_maxrss) and load."""
    cmd = [
        python,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--n-rows",
        str(n_rows),
        "--repeats",
        str(repeats),
        "--seed",
        str(args.seed),
        "--data-dir",
        str(args.data_dir),
        "--p-threshold",
        str(args.p_threshold),
        "--psi-threshold",
        str(args.psi_threshold),
        "--run-id",
        str(os.getpid()),
    ]
    if args.profile and kind == "ms-check":
        cmd += ["--profile", "--profile-top", str(args.profile_top)]
    env = {**os.environ, **TELEMETRY_OFF}
    if args.src and kind.startswith("ms-"):
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [args.src, env.get("PYTHONPATH")]))
    load_start = _load()
    _log(f"start {kind} n={n_rows} (load {load_start[0]})")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    result: dict[str, Any] = {"contender": kind}
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
    if proc.returncode != 0 or "time" not in result and "drift_time" not in result:
        result["error"] = f"exit code {proc.returncode}; see the output above"
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    result["load_start"] = load_start
    result["process_seconds"] = elapsed
    return result


def ensure_bench_python(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The .venv-bench interpreter (created by `make bench-env` when missing)."""
    python = Path(args.bench_python)
    if not python.exists():
        _log("no .venv-bench yet: running `make bench-env` (Evidently with pandas<3)")
        done = subprocess.run(["make", "-C", str(REPO), "bench-env"], env=os.environ)
        if done.returncode != 0 or not python.exists():
            return None, "`make bench-env` failed; Evidently not measured"
    probe = subprocess.run(
        [str(python), "-c", "import evidently, pandas; print(evidently.__version__)"],
        capture_output=True,
        text=True,
        env={**os.environ, **TELEMETRY_OFF},
    )
    if probe.returncode != 0:
        return None, f"Evidently does not import in {python}: {probe.stderr.strip()[-200:]}"
    return str(python), None


def _sizes(text: str) -> list[int]:
    if text.strip().lower() in {"", "0", "none", "no"}:
        return []
    return sorted({int(float(part)) for part in text.split(",") if part.strip()})


def _fmt_rows(n: int) -> str:
    return (
        f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)
    )


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _fmt_mb(mb: float | None) -> str:
    if mb is None:
        return "—"
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def _names(columns: list[str]) -> str:
    ordered = sorted(columns, key=lambda c: int(c[1:]))
    return ", ".join(ordered) if ordered else "none"


def _detections(drifted: list[str] | set[str]) -> tuple[str, str, str]:
    found = set(drifted)
    caught = found & data.DRIFTED
    missed = data.DRIFTED - found
    false_pos = found & data.CLEAN
    fp = f"{len(false_pos)}" + (f" ({_names(sorted(false_pos))})" if false_pos else "")
    return f"{len(caught)}/10", _names(sorted(missed)), fp


def _agreement(textbook: dict, check: dict) -> dict[str, Any]:
    """How far modelsteward's KS and PSI are from scipy's and the chapter's on the same data."""
    if "columns" not in textbook or "columns" not in check:
        return {}
    d_stat, d_p, d_psi, psi_differs = 0.0, 0.0, 0.0, []
    for name, ref in textbook["columns"].items():
        mine = check["columns"].get(name)
        if mine is None:
            continue
        d_stat = max(d_stat, abs(mine["statistic"] - ref["statistic"]))
        p_ref, p_mine = ref["p_value"], mine["p_value"]
        if not (p_ref < 1e-300 and p_mine < 1e-300):
            d_p = max(d_p, abs(p_mine - p_ref) / max(abs(p_ref), 1e-300))
        delta_psi = abs(mine["psi"] - ref["psi"])
        d_psi = max(d_psi, delta_psi)
        if delta_psi > 1e-9:
            psi_differs.append(name)
    return {
        "max_abs_ks_statistic": d_stat,
        "max_rel_p_value": d_p,
        "max_abs_psi": d_psi,
        "psi_differs": psi_differs,
    }


def render(runs: dict[int, dict[str, dict]], meta: dict[str, Any]) -> str:
    """The Markdown report: speed and memory, targets, detections."""
    lines = [
        f"### drift_speed — {meta['when']}",
        "",
        f"Machine: {meta['machine']}. Load (`uptime`) at start: `{meta['uptime_start']}`; "
        f"at end: `{meta['uptime_end']}`. modelsteward: {meta['revision']}.",
        f"Data: 100 float64 columns, reference and current of N rows each, 10 drifted (f0-f9), "
        f"90 clean; seed {meta['seed']}. Times: median of {meta['repeats']} "
        f"(Evidently: {meta['evidently_repeats']}), data loading excluded; CPU time is the "
        "process's user+system time over the same calls (all threads), less sensitive to "
        "other load than wall time. Peak RSS: "
        "`ru_maxrss` of the contender's own process (includes its data and interpreter).",
        "",
        "| rows | contender | wall time | CPU time | peak RSS | x modelsteward drift check: "
        "wall (CPU) | load 1m |",
        "|---|---|---|---|---|---|---|",
    ]
    targets: list[str] = []
    for n, run in sorted(runs.items()):
        rows = _fmt_rows(n)
        check, fit = run.get("ms-check", {}), run.get("ms-fit", {})
        ms_time, ms_cpu = check.get("drift_time"), check.get("drift_cpu")

        def ratio(
            result: dict[str, Any], ms_time: float | None = ms_time, ms_cpu: float | None = ms_cpu
        ) -> str:
            t, cpu = result.get("time"), result.get("cpu")
            if t is None or not ms_time:
                return "—"
            text = f"{t / ms_time:.1f}x"
            return text + (f" ({cpu / ms_cpu:.1f}x)" if cpu is not None and ms_cpu else "")

        tb = run.get("textbook", {})
        if tb:
            if "error" in tb:
                lines.append(f"| {rows} | (a) textbook loop | failed: {tb['error']} | | | | |")
            else:
                lines.append(
                    f"| {rows} | (a) textbook: scipy `ks_2samp` + numpy decile PSI per column "
                    f"(KS {_fmt_s(tb['ks_time'])}, PSI {_fmt_s(tb['psi_time'])}) "
                    f"| {_fmt_s(tb['time'])} | {_fmt_s(tb['cpu'])} | {_fmt_mb(tb['peak_rss_mb'])} "
                    f"| {ratio(tb)} | {tb['load_start'][0]} |"
                )
        ev = run.get("evidently", {})
        if ev:
            if "error" in ev or "skipped" in ev:
                reason = ev.get("skipped") or ev.get("error")
                lines.append(f"| {rows} | (b) Evidently | not measured: {reason} | | | | |")
            else:
                lines.append(
                    f"| {rows} | (b) Evidently {ev['version']} `DataDriftPreset()` (pandas "
                    f"{ev['pandas']}) | {_fmt_s(ev['time'])} | {_fmt_s(ev['cpu'])} "
                    f"| {_fmt_mb(ev['peak_rss_mb'])} | {ratio(ev)} | {ev['load_start'][0]} |"
                )
        if fit:
            if "error" in fit:
                lines.append(f"| {rows} | (c) modelsteward `Baseline.fit` | failed | | | | |")
            else:
                lines.append(
                    f"| {rows} | (c) modelsteward `Baseline.fit` (reference, once per model "
                    f"version) | {_fmt_s(fit['time'])} | {_fmt_s(fit['cpu'])} "
                    f"| {_fmt_mb(fit['peak_rss_mb'])} | — "
                    f"| {fit['load_start'][0]} |"
                )
        if check:
            if "error" in check:
                lines.append(
                    f"| {rows} | (c) modelsteward check | failed: {check['error']} | | | | |"
                )
            else:
                lines.append(
                    f"| {rows} | (c) modelsteward `detect_data_drift(baseline, current)` "
                    f"(first call after `Baseline.load`: {_fmt_s(check['drift_times'][0])}) "
                    f"| **{_fmt_s(check['drift_time'])}** | {_fmt_s(check['drift_cpu'])} "
                    f"| {_fmt_mb(check['peak_rss_mb'])} | 1x | {check['load_start'][0]} |"
                )
                lines.append(
                    f"| {rows} | (c) modelsteward `detect_feature_degradation(baseline, "
                    f"current)` | {_fmt_s(check['degradation_time'])} "
                    f"| {_fmt_s(check['degradation_cpu'])} | (same process) | — "
                    f"| {check['load_start'][0]} |"
                )
                raw = check["current_mb"] + check["baseline_mb"]
                peak = check["peak_rss_mb"]
                ok = peak <= TARGET_MEMORY_FACTOR * raw
                above_imports = peak - check["rss_imports_mb"]
                targets.append(
                    f"- {rows}: modelsteward check peak {_fmt_mb(peak)} vs 2 x (current "
                    f"{_fmt_mb(check['current_mb'])} + baseline {_fmt_mb(check['baseline_mb'])})"
                    f" = {_fmt_mb(2 * raw)} → **{'met' if ok else 'MISSED'}** "
                    f"({peak / raw:.2f}x raw; the interpreter with numpy/scipy/modelsteward "
                    f"imported holds {_fmt_mb(check['rss_imports_mb'])}, peak above that "
                    f"{_fmt_mb(above_imports)} = {above_imports / raw:.2f}x raw)"
                )
                cpu_note = ""
                if tb and "cpu" in tb and ms_cpu:
                    cpu_note = f"; CPU time {tb['cpu'] / ms_cpu:.1f}x"
                if tb and "time" in tb and ms_time:
                    speedup = tb["time"] / ms_time
                    if n >= 1_000_000:
                        ok = speedup >= TARGET_VS_TEXTBOOK
                        verdict = "met" if ok else "MISSED"
                        targets.append(
                            f"- {rows}: textbook / modelsteward = {speedup:.1f}x wall "
                            f"(target >= {TARGET_VS_TEXTBOOK:.0f}x) → **{verdict}**{cpu_note}"
                        )
                    else:
                        targets.append(
                            f"- {rows}: textbook / modelsteward = {speedup:.1f}x wall "
                            f"(target applies at 1M rows){cpu_note}"
                        )
                if ev and "time" in ev and ms_time:
                    speedup = ev["time"] / ms_time
                    verdict = "met" if speedup >= TARGET_VS_EVIDENTLY else "MISSED"
                    targets.append(
                        f"- {rows}: Evidently / modelsteward = {speedup:.0f}x "
                        f"(target >= {TARGET_VS_EVIDENTLY:.0f}x) → **{verdict}**"
                    )
                if check.get("note"):
                    targets.append(f"- {rows}: note: {check['note']}")
    lines += ["", "Targets (issue 2, item 6):", *targets, ""]

    lines += [
        "Detections (10 drifted columns f0-f9; false positives among the 90 clean columns):",
        "",
        "| rows | contender and rule | caught | missed | false positives of 90 |",
        "|---|---|---|---|---|",
    ]
    for n, run in sorted(runs.items()):
        rows = _fmt_rows(n)
        tb, ev, check = run.get("textbook", {}), run.get("evidently", {}), run.get("ms-check", {})
        entries: list[tuple[str, list[str] | set[str]]] = []
        if tb and "drifted_ks" in tb:
            entries.append((f"(a) textbook KS p < {meta['p_threshold']}", tb["drifted_ks"]))
            entries.append((f"(a) textbook PSI >= {meta['psi_threshold']}", tb["drifted_psi"]))
        if ev and "drifted" in ev:
            methods = "; ".join(ev["methods"])
            entries.append((f"(b) Evidently default ({methods})", ev["drifted"]))
        if check and "drifted" in check:
            entries.append(
                (
                    f"(c) modelsteward `detect_data_drift` is_drifted (p < {meta['p_threshold']})",
                    check["drifted"],
                )
            )
            alerted = {feature for feature, _ in check["alerts"]}
            entries.append(("(c) modelsteward degradation alerts (any type)", alerted))
            entries.append(
                ("(c) modelsteward drift or degradation", set(check["drifted"]) | alerted)
            )
        for label, found in entries:
            caught, missed, fp = _detections(found)
            lines.append(f"| {rows} | {label} | {caught} | {missed} | {fp} |")
    lines.append("")
    for n, run in sorted(runs.items()):
        check = run.get("ms-check", {})
        if check and "alerts" in check:
            by_feature: dict[str, list[str]] = {}
            for feature, kind in check["alerts"]:
                by_feature.setdefault(feature, []).append(kind)
            text = "; ".join(
                f"{f}: {', '.join(k)}"
                for f, k in sorted(by_feature.items(), key=lambda item: int(item[0][1:]))
            )
            lines.append(f"- {_fmt_rows(n)} degradation alerts: {text or 'none'}")
        agreement = run.get("agreement")
        if agreement:
            lines.append(
                f"- {_fmt_rows(n)} modelsteward vs scipy/chapter on the same data: max |ΔKS| "
                f"{agreement['max_abs_ks_statistic']:.1e}, max relative Δp "
                f"{agreement['max_rel_p_value']:.1e}, max |ΔPSI| {agreement['max_abs_psi']:.1e}"
                f" (PSI differs in {len(agreement['psi_differs'])} columns"
                + (
                    f": {_names(agreement['psi_differs'])[:120]}"
                    if agreement["psi_differs"]
                    else ""
                )
                + ")"
            )
        fit = run.get("ms-fit", {})
        if fit and "kinds" in fit:
            lines.append(
                f"- {_fmt_rows(n)} baseline: {_fmt_mb(fit['baseline_mb'])} of arrays, kinds "
                f"{fit['kinds']}, save {_fmt_s(fit.get('save_time'))}"
                + (f" (save failed: {fit['save_error']})" if fit.get("save_error") else "")
            )
    for note in meta.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=(
            "Time modelsteward's drift check against the chapter's textbook loop (scipy "
            "ks_2samp + numpy PSI) and Evidently's data drift report on generated data "
            "(100 float64 columns, 10 drifted), each contender in its own process; print a "
            "Markdown table of wall time, peak memory, ratios and detections and write it to "
            "benchmarks/results/."
        ),
        epilog=(
            "examples:\n"
            "  python benchmarks/drift_speed.py                  # 100k + 1M, Evidently at 100k\n"
            "  python benchmarks/drift_speed.py --quick          # small smoke run\n"
            "  python benchmarks/drift_speed.py --evidently-rows 100000,1000000\n"
            "  python benchmarks/drift_speed.py --rows 1000000 --no-evidently --profile"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rows",
        default="100000,1000000",
        help="comma-separated window sizes (rows per window; default: %(default)s)",
    )
    parser.add_argument(
        "--evidently-rows",
        default="100000",
        help="sizes at which Evidently runs (about 11 min at 1000000; "
        "'none' to skip; default: %(default)s)",
    )
    parser.add_argument("--no-evidently", action="store_true", help="skip Evidently")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="runs per fast contender, the median is reported (default: 3)",
    )
    parser.add_argument(
        "--evidently-repeats", type=int, default=1, help="runs of Evidently per size (default: 1)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small smoke run: 20000 rows, Evidently at 20000"
    )
    parser.add_argument("--seed", type=int, default=20261126, help="data seed")
    parser.add_argument(
        "--p-threshold",
        type=float,
        default=0.01,
        help="KS p-value threshold for (a) and (c) (default: 0.01)",
    )
    parser.add_argument(
        "--psi-threshold",
        type=float,
        default=0.1,
        help="PSI level counted as a detection in the table (default: 0.1)",
    )
    parser.add_argument(
        "--data-dir",
        default=str(HERE / "data"),
        help="cache of generated .npy/.parquet files (gitignored)",
    )
    parser.add_argument(
        "--results-dir",
        default=str(HERE / "results"),
        help="where the Markdown and JSON results go (gitignored)",
    )
    parser.add_argument(
        "--bench-python",
        default=str(REPO / ".venv-bench" / "bin" / "python"),
        help="interpreter with Evidently (made by `make bench-env`)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one detect_data_drift / detect_feature_degradation "
        "call and print the top functions",
    )
    parser.add_argument(
        "--src",
        default=None,
        help="import modelsteward from this directory instead of the installed "
        "package (e.g. a `git archive HEAD` export of src/)",
    )
    parser.add_argument("--profile-top", type=int, default=25, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    parser.add_argument("--n-rows", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--run-id", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.evidently_rows = "20000", "20000"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        _emit(CHILDREN[args.child](args))
        return 0

    sizes = _sizes(args.rows)
    evidently_sizes = [] if args.no_evidently else _sizes(args.evidently_rows)
    sizes = sorted(set(sizes) | set(evidently_sizes))
    notes: list[str] = []
    bench_python: str | None = None
    reason: str | None = "skipped (--no-evidently)"
    if evidently_sizes:
        bench_python, reason = ensure_bench_python(args)
        if reason:
            notes.append(reason)
    meta: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, numpy {np.__version__}",
        "uptime_start": _uptime(),
        "revision": _revision() if not args.src else f"imported from {args.src}",
        "seed": args.seed,
        "repeats": args.repeats,
        "evidently_repeats": args.evidently_repeats,
        "p_threshold": args.p_threshold,
        "psi_threshold": args.psi_threshold,
        "notes": notes,
    }
    _log(meta["uptime_start"])
    runs: dict[int, dict[str, dict]] = {}
    for n in sizes:
        start = time.perf_counter()
        data.materialize(n, Path(args.data_dir), args.seed, parquet=n in evidently_sizes)
        _log(f"data n={n} ready in {time.perf_counter() - start:.1f} s")
        run: dict[str, dict] = {}
        run["textbook"] = run_child(sys.executable, "textbook", n, args.repeats, args)
        run["ms-fit"] = run_child(sys.executable, "ms-fit", n, args.repeats, args)
        run["ms-check"] = run_child(sys.executable, "ms-check", n, args.repeats, args)
        if n in evidently_sizes:
            if bench_python:
                run["evidently"] = run_child(
                    bench_python, "evidently", n, args.evidently_repeats, args
                )
            else:
                run["evidently"] = {"skipped": reason or "not available"}
        run["agreement"] = _agreement(run["textbook"], run["ms-check"])
        shutil.rmtree(
            Path(args.data_dir)
            / f"baseline_v{data.DATA_VERSION}_s{args.seed}_n{n}_run{os.getpid()}",
            ignore_errors=True,
        )
        if run["ms-check"].get("profile"):
            print(f"\n--- cProfile, modelsteward check at n={n} ---\n{run['ms-check']['profile']}")
        runs[n] = run
    meta["uptime_end"] = _uptime()
    report = render(runs, meta)
    print()
    print(report)
    results = Path(args.results_dir)
    results.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in (f"drift_speed_{stamp}.md", "drift_speed_latest.md"):
        (results / name).write_text(report)
    slim = {
        n: {
            k: {kk: vv for kk, vv in v.items() if kk not in {"columns", "profile"}}
            for k, v in run.items()
        }
        for n, run in runs.items()
    }
    (results / f"drift_speed_{stamp}.json").write_text(
        json.dumps({"meta": meta, "runs": slim}, indent=1, default=str)
    )
    profiles = [
        f"--- n={n} ---\n{run['ms-check']['profile']}"
        for n, run in runs.items()
        if run.get("ms-check", {}).get("profile")
    ]
    if profiles:
        (results / f"drift_speed_{stamp}_profile.txt").write_text("\n".join(profiles))
    _log(f"written {results / f'drift_speed_{stamp}.md'}")
    failed = [
        f"{kind} n={n}"
        for n, run in runs.items()
        for kind, result in run.items()
        if isinstance(result, dict) and "error" in result
    ]
    if failed:
        print(f"failed contenders: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
