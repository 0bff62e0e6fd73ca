"""The prediction log's layout: write speed at 1,000-row batches, and reading one week.

Fills a fresh log (SQLite by default, or ``--url postgresql://...``) with ``--rows`` rows in
1,000-row requests through the service's own write path (``make_rows_from_columns`` +
``write_rows``, one commit per request), spread over ``--weeks`` weeks, then reads the last
full week with ``PredictionLog.read_frame`` in a fresh process, reporting seconds and the
peak memory that read added (VmHWM minus the RSS before it). Prints one JSON line and the
machine load before and after.

    python benchmarks/log_layout.py [--rows 1000000] [--weeks 10] [--url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WEEK = 7 * 86_400.0
MODEL = "bench_churn"


def _load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() \
        else "?"


def _columns(rng: np.random.Generator, n: int) -> dict[str, list[object]]:
    return {
        "age": rng.normal(40, 10, n).round(2).tolist(),
        "income": rng.normal(50, 8, n).round(3).tolist(),
        "visits": rng.integers(0, 20, n).tolist(),
        "tenure": rng.integers(0, 120, n).tolist(),
        "score": rng.random(n).tolist(),
        "plan": rng.choice(["a", "b", "c"], n).tolist(),
    }


def fill(url: str, rows: int, weeks: int, batch: int) -> dict[str, float]:
    from modelsteward.store import PredictionLog, new_prediction_ids

    log = PredictionLog(url)
    rng = np.random.default_rng(1)
    cols = _columns(rng, batch)
    preds = rng.random(batch).round(4).tolist()
    n_batches = rows // batch
    start = time.time() - weeks * WEEK
    step = weeks * WEEK / n_batches
    write_s = 0.0
    for b in range(n_batches):
        t0 = time.perf_counter()
        made = PredictionLog.make_rows_from_columns(MODEL, "1", cols, preds,
                                                    ids=new_prediction_ids(batch),
                                                    timestamp=start + b * step)
        log.write_rows(made)
        write_s += time.perf_counter() - t0
    log.close()
    return {"rows_written": n_batches * batch, "write_rows_per_s": n_batches * batch / write_s,
            "write_ms_per_1000_rows": 1000 * write_s / n_batches / (batch / 1000)}


def read_week(url: str, weeks: int) -> dict[str, float]:
    """In this process: read the last full week, report seconds and added peak memory."""
    from modelsteward.store import PredictionLog

    def vm(field: str) -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) * 1024
        return 0

    log = PredictionLog(url)
    now = time.time()
    base = vm("VmRSS:")
    t0 = time.perf_counter()
    frame = log.read_frame(MODEL, since=now - 2 * WEEK, until=now - WEEK)
    seconds = time.perf_counter() - t0
    peak = vm("VmHWM:") - base
    log.close()
    return {"read_rows": len(frame), "read_s": seconds, "read_peak_mb": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--url", default=None, help="log URL (default: a temporary SQLite file)")
    parser.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_only:
        print(json.dumps(read_week(args.url, args.weeks)))
        return
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="steward-log-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'p.db'}"
        result: dict[str, object] = {"url": url.split("@")[-1], "rows": args.rows,
                                     "weeks": args.weeks, **fill(url, args.rows, args.weeks,
                                                                 args.batch)}
        if url.startswith("sqlite:///"):
            result["db_mb"] = round(os.path.getsize(url[len("sqlite:///"):]) / 2**20, 1)
        out = subprocess.run([sys.executable, __file__, "--read-only", "--url", url,
                              "--weeks", str(args.weeks)], capture_output=True, text=True,
                             check=True, env={**os.environ})
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
    result["load_before"], result["load_after"] = load_before, _load()
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                      for k, v in result.items()}))


if __name__ == "__main__":
    main()
