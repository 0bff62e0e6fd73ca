"""Monitor cost: the first full run against a weekly incremental run (issue 12, measure).

A prediction log of ``--weeks`` weeks x ``--rows-per-week`` rows (8 numeric features, a drift
in f2 from the second half) is written in the store's own format (1,000-row requests, Arrow
feature blocks, 20 requests per commit) to a temporary SQLite file, or with ``--url
postgresql://...`` into a schema of its own, dropped after. With the state store in the
log's database (what ``steward monitor --log URL`` does):

  full         the first run, clock at the start of the last week: every closed window
               but the last is checked (weeks - 1 windows)
  incremental  the next week's run, clock one week later: one new window

The ratio printed is incremental / (full / checked windows), i.e. the weekly run against one
week's share of the full run (the issue's target: at most 3). No timing assertions anywhere.

    python benchmarks/monitor_incremental.py                    # 52 weeks x 5,000 rows
    python benchmarks/monitor_incremental.py --rows-per-week 192000   # 10M rows
    python benchmarks/monitor_incremental.py --url postgresql://127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-06", tz="UTC")  # a Monday


def build(url: str, weeks: int, per_week: int, seed: int = 0,
          request_rows: int = 1000) -> object:
    """Fill the log at ``url``; returns the training baseline."""
    from modelsteward.baseline import Baseline
    from modelsteward.store.prediction_log import PredictionLog, RowList, new_prediction_ids

    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(8)]
    base = Baseline.fit({n: rng.normal(size=20_000) for n in names})
    log = PredictionLog(url)
    n_req = max(1, per_week // request_rows)
    step = 7 * 86400 / n_req
    for w in range(weeks):
        cols = {n: rng.normal(size=n_req * request_rows) for n in names}
        if w >= weeks // 2:
            cols["f2"] = cols["f2"] + 0.5
        preds = rng.uniform(size=n_req * request_rows)
        t0 = (START + pd.Timedelta(weeks=w)).timestamp()
        pending = []
        for r in range(n_req):
            part = slice(r * request_rows, (r + 1) * request_rows)
            pending.append(PredictionLog.make_rows_from_columns(
                "churn", "1", {k: v[part].tolist() for k, v in cols.items()},
                preds[part].tolist(), ids=new_prediction_ids(request_rows),
                timestamp=t0 + r * step))
            if len(pending) >= 20:
                log.write_rows(RowList.join(pending))
                pending = []
        if pending:
            log.write_rows(RowList.join(pending))
    log.close()
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--rows-per-week", type=int, default=5_000)
    parser.add_argument("--url", default=None,
                        help="a PostgreSQL URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    from log_layout import _load, _private_schema

    from modelsteward.monitor import run_monitor

    folder = Path(tempfile.mkdtemp(prefix="steward-bench-monitor-"))
    load_before = _load()
    try:
        with _private_schema(args.url) as pg_url:
            run(pg_url or f"sqlite:///{folder / 'predictions.db'}", args, run_monitor)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"load before: {load_before}, after: {_load()} (1-minute averages, 2 cores)")


def run(url: str, args: argparse.Namespace, run_monitor: Any) -> None:
    """Build the log, then time the first full run and the next week's run."""
    t = time.perf_counter()
    base = build(url, args.weeks, args.rows_per_week)
    print(f"built in {time.perf_counter() - t:.1f} s")
    last = START + pd.Timedelta(weeks=args.weeks - 1)
    t = time.perf_counter()
    full = run_monitor("churn", url, baseline=base, sinks=[], state=url, now=last,
                       describe=False)
    t_full = time.perf_counter() - t
    checked = sum(1 for w in full.windows if w.status != "in_progress")
    t = time.perf_counter()
    inc = run_monitor("churn", url, baseline=base, sinks=[], state=url,
                      now=last + pd.Timedelta(weeks=1), describe=False)
    t_inc = time.perf_counter() - t
    new = sum(1 for w in inc.windows if w.status != "in_progress")
    share = t_full / max(checked, 1)
    rows = args.weeks * max(1, args.rows_per_week // 1000) * 1000
    kind = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"log: {rows:,} rows over {args.weeks} weeks ({kind})")
    print(f"full first run: {checked} windows in {t_full:.2f} s "
          f"({share:.3f} s per window); {len(full.notifications)} notifications")
    print(f"weekly incremental run: {new} window in {t_inc:.2f} s; "
          f"{len(inc.notifications)} notifications")
    print(f"ratio incremental / one week's share of the full run: {t_inc / share:.1f}x "
          "(target <= 3x)")


if __name__ == "__main__":
    main()
