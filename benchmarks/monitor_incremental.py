"""Monitor cost: the first full run against a weekly incremental run (issue 12, measure).

A SQLite prediction log of ``--weeks`` weeks x ``--rows-per-week`` rows (8 numeric features,
a drift in f2 from the second half) is written to a temporary folder. With the state store
in the log's database (what ``steward monitor --log URL`` does):

  full         the first run, clock at the start of the last week: every closed window
               but the last is checked (weeks - 1 windows)
  incremental  the next week's run, clock one week later: one new window

The ratio printed is incremental / (full / checked windows), i.e. the weekly run against one
week's share of the full run (the issue's target: at most 3). No timing assertions anywhere.

    python benchmarks/monitor_incremental.py                    # 52 weeks x 5,000 rows
    python benchmarks/monitor_incremental.py --rows-per-week 50000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2025-01-06", tz="UTC")  # a Monday


def build(folder: Path, weeks: int, per_week: int, seed: int = 0) -> tuple[str, object]:
    from modelsteward.baseline import Baseline
    from modelsteward.store.prediction_log import PredictionLog, RowList

    rng = np.random.default_rng(seed)
    names = [f"f{i}" for i in range(8)]
    base = Baseline.fit({n: rng.normal(size=20_000) for n in names})
    url = f"sqlite:///{folder / 'predictions.db'}"
    log = PredictionLog(url)
    step = 7 * 86400 / per_week
    for w in range(weeks):
        cols = {n: rng.normal(size=per_week) for n in names}
        if w >= weeks // 2:
            cols["f2"] = cols["f2"] + 0.5
        t0 = (START + pd.Timedelta(weeks=w)).timestamp()
        preds = rng.uniform(size=per_week)
        ids = [uuid.uuid4().hex for _ in range(per_week)]
        rows = log.make_rows_from_columns("churn", "1", {k: v.tolist() for k, v in cols.items()},
                                          preds.tolist(), ids=ids, timestamp=t0)
        # spread the rows over the week; keep the Arrow feature batch the rows point at
        # (a plain list of the rows would drop it, and the log would have no features)
        log.write_rows(RowList([(r[0], t0 + i * step, *r[2:]) for i, r in enumerate(rows)],
                               getattr(rows, "batches", ())))
    log.close()
    return url, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--rows-per-week", type=int, default=5_000)
    args = parser.parse_args()
    from modelsteward.monitor import run_monitor

    folder = Path(tempfile.mkdtemp(prefix="steward-bench-monitor-"))
    try:
        url, base = build(folder, args.weeks, args.rows_per_week)
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
        rows = args.weeks * args.rows_per_week
        print(f"log: {rows:,} rows over {args.weeks} weeks (SQLite)")
        print(f"full first run: {checked} windows in {t_full:.2f} s "
              f"({share:.3f} s per window); {len(full.notifications)} notifications")
        print(f"weekly incremental run: {new} window in {t_inc:.2f} s; "
              f"{len(inc.notifications)} notifications")
        print(f"ratio incremental / one week's share of the full run: {t_inc / share:.1f}x "
              "(target <= 3x)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
