"""The prediction log's layout: write speed at 1,000-row batches, and reading one week.

Fills a fresh log (SQLite by default, or ``--url postgresql://...`` in a schema of its own,
dropped after) with ``--rows`` rows through the service's own write path
(``make_rows_from_columns`` + ``write_rows``), spread over ``--weeks`` weeks: 1,000-row
requests (Arrow feature blocks) and, with ``--json-share``, that share of the rows as
single-row requests (one JSON object per row). The write speed is that of the first 200
requests, one commit each; the rest is committed 20 requests at a time (a bulk fill in the
store's own format). Then the last full week is read with ``PredictionLog.read_frame`` in a
fresh process, reporting seconds and the peak memory that read added (VmHWM minus the RSS
before it), and again with each ``--compare-src`` source tree (e.g. the main branch's
``src``: the "before"). Prints one JSON line and the machine load before and after.

    python benchmarks/log_layout.py [--rows 1000000] [--weeks 10] [--url URL]
    python benchmarks/log_layout.py --rows 10000000 --weeks 52 --json-share 0.1 \
        --compare-src /work/main/src
    python benchmarks/log_layout.py --url postgresql://127.0.0.1:5432/test --rows 2000000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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


TIMED_REQUESTS = 200  # requests written one commit each, timed
FILL_GROUP = 20  # requests per commit after those


def fill(url: str, rows: int, weeks: int, batch: int, json_share: float = 0.0
         ) -> dict[str, float]:
    """``rows`` rows over ``weeks`` weeks ending now; a ``json_share`` of them as single-row
    requests (JSON rows), made 16 at a time and interleaved with the batches."""
    from modelsteward.store import PredictionLog, new_prediction_ids
    from modelsteward.store.prediction_log import RowList

    log = PredictionLog(url)
    rng = np.random.default_rng(1)
    cols = _columns(rng, batch)
    preds = rng.random(batch).round(4).tolist()
    single = 16  # rows of single-row requests made together (each row its own JSON)
    json_cols = _columns(rng, single)
    json_preds = preds[:single]
    n_batches = max(1, round(rows * (1 - json_share) / batch))
    json_per_batch = round(rows * json_share / n_batches / single)  # groups of 16 JSON rows
    start = time.time() - weeks * WEEK
    step = weeks * WEEK / n_batches
    write_s = 0.0
    pending: list[RowList] = []
    written = 0
    for b in range(n_batches):
        ts = start + b * step
        t0 = time.perf_counter()
        made = PredictionLog.make_rows_from_columns(MODEL, "1", cols, preds,
                                                    ids=new_prediction_ids(batch), timestamp=ts)
        if b < TIMED_REQUESTS:
            log.write_rows(made)
            write_s += time.perf_counter() - t0
        else:
            pending.append(made)
        written += batch
        for j in range(json_per_batch):
            # rows of one request share a timestamp; single-row requests each their own
            part = PredictionLog.make_rows_from_columns(
                MODEL, "1", json_cols, json_preds, ids=new_prediction_ids(single),
                timestamp=ts)
            pending.append(RowList((r[0], ts + (j * single + i) * step / (
                json_per_batch * single + 1), *r[2:]) for i, r in enumerate(part)))
            written += single
        if len(pending) >= FILL_GROUP:
            log.write_rows(RowList.join(pending))
            pending = []
    if pending:
        log.write_rows(RowList.join(pending))
    log.close()
    timed = min(n_batches, TIMED_REQUESTS)
    return {"rows_written": written, "write_rows_per_s": timed * batch / write_s,
            "write_ms_per_1000_rows": 1000 * write_s / timed / (batch / 1000)}


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


@contextlib.contextmanager
def _private_schema(url: str | None) -> Iterator[str | None]:
    """A PostgreSQL URL whose tables go into a fresh schema, dropped on exit; other URLs
    (and None) as they are."""
    if not url or not url.startswith("postgresql"):
        yield url
        return
    from sqlalchemy import create_engine, text

    schema = f"steward_bench_{os.getpid()}"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in url else "?"
    try:
        yield f"{url}{sep}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--json-share", type=float, default=0.0,
                        help="share of the rows written as single-row requests (JSON rows)")
    parser.add_argument("--url", default=None,
                        help="log URL (default: a temporary SQLite file); a PostgreSQL log "
                             "goes into a schema of its own, dropped after")
    parser.add_argument("--compare-src", action="append", default=[],
                        help="also read the week with this source tree (repeatable)")
    parser.add_argument("--repeat", type=int, default=2, help="reads per source tree")
    parser.add_argument("--read-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_only:
        print(json.dumps(read_week(args.url, args.weeks)))
        return
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="steward-log-bench-") as tmp, \
            _private_schema(args.url) as url_in_schema:
        url = url_in_schema or f"sqlite:///{Path(tmp) / 'p.db'}"
        t0 = time.perf_counter()
        result: dict[str, object] = {"url": url.split("@")[-1].split("?")[0],
                                     "rows": args.rows, "weeks": args.weeks,
                                     "json_share": args.json_share,
                                     **fill(url, args.rows, args.weeks, args.batch,
                                            args.json_share)}
        result["fill_s"] = time.perf_counter() - t0
        if url.startswith("sqlite:///"):
            result["db_mb"] = round(os.path.getsize(url[len("sqlite:///"):]) / 2**20, 1)
        here = str(Path(__file__).resolve().parents[1] / "src")
        trees = [("", here)] + [(f"before{i or ''}_", s) for i, s in enumerate(args.compare_src)]
        # one read first to warm the page cache (not reported), then the trees alternate
        # --repeat times; the fastest read of each is reported, with its peak memory
        best: dict[str, dict[str, float]] = {}
        for rep in range(args.repeat + 1):
            for label, src in (trees if rep % 2 else trees[::-1]):
                env = {**os.environ, "PYTHONPATH": src}
                out = subprocess.run([sys.executable, __file__, "--read-only", "--url", url,
                                      "--weeks", str(args.weeks)], capture_output=True,
                                     text=True, check=True, env=env)
                read = json.loads(out.stdout.strip().splitlines()[-1])
                if rep and (label not in best or read["read_s"] < best[label]["read_s"]):
                    best[label] = read
        for label, read in best.items():
            result.update({f"{label}{k}": v for k, v in read.items()})
    result["load_before"], result["load_after"] = load_before, _load()
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v
                      for k, v in result.items()}))


if __name__ == "__main__":
    main()
