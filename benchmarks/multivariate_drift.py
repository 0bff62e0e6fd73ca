"""Multivariate drift benchmark: our two joint checks against peers, and their cost.

Synthetic cases with known answers (8 numeric features; x and y correlated 0.8; a reference
of 20,000 rows; windows of 1,000 rows):

* ``no_change``    - windows from the reference distribution (every flag is a false alarm);
* ``decoupling``   - corr(x, y) 0.8 -> 0, both marginals unchanged;
* ``segment_mix``  - x and y come from two aligned segments (both low or both high); in the
  window the segments no longer line up: each histogram is unchanged, the pairs are new;
* ``marginal``     - f0's mean moves by 0.5 sd (a change per-feature tests do see).

Methods: ours (reconstruction band, alpha 0.01; domain classifier, p < 0.01 and AUC >= 0.55),
today's per-feature KS (any feature p < 0.01 / 8, Bonferroni), NannyML 0.13
``DataReconstructionDriftCalculator`` (chunk = window, its default threshold: reference
chunks' mean +- 3 sd) in ``.venv-bench``, alibi-detect 0.13 ``ClassifierDrift`` (sklearn
HistGradientBoosting, 5 folds, p < 0.01) and ``MMDDrift`` (pytorch, 100 permutations,
p < 0.01) in ``.venv-bench-alibi``. alibi's classifier gets a 2,000-row reference sample
(ours 1,500 per side); MMD a 1,000-row sample (its kernel matrix is quadratic in rows: with
2,000 rows one window took 25 s on this shared machine). alibi runs on one thread and on the
first ``--alibi-windows`` windows of each case (default 3), each peer run under
``--peer-timeout``.

Then the cost: one weekly window of 100 columns x 100,000 rows, ``measure_window`` +
``judge_window`` with and without the joint reference, median of 3 runs.

    python benchmarks/multivariate_drift.py [--windows 10] [--cost-rows 100000]
        [--peers nannyml,alibi] [--alibi-windows 3] [--peer-timeout 900]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CASES = ("no_change", "decoupling", "segment_mix", "marginal")
FEATURES = ["x", "y"] + [f"f{i}" for i in range(6)]
RHO = 0.8
MMD_REF_ROWS = 1_000  # alibi MMD's reference sample: its kernel matrix is quadratic in rows
ENV = {"DO_NOT_TRACK": "1", "NML_DISABLE_USAGE_LOGGING": "1", "MLFLOW_DISABLE_TELEMETRY": "true",
       "TF_CPP_MIN_LOG_LEVEL": "3", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "OPENBLAS_NUM_THREADS": "1"}  # one thread per peer: the machine is shared


def draw(case: str, n: int, rng: np.random.Generator, changed: bool) -> np.ndarray:
    """``(n, 8)`` rows of one case; ``changed`` selects the window's distribution."""
    out = rng.normal(size=(n, len(FEATURES)))
    if case == "segment_mix":
        sx = rng.random(n) < 0.5
        sy = (rng.random(n) < 0.5) if changed else sx
        out[:, 0] = np.where(sx, -2.0, 2.0) + rng.normal(size=n)
        out[:, 1] = np.where(sy, -2.0, 2.0) + rng.normal(size=n)
        return out
    rho = 0.0 if (changed and case == "decoupling") else RHO
    out[:, 1] = rho * out[:, 0] + np.sqrt(1 - rho**2) * out[:, 1]
    if changed and case == "marginal":
        out[:, 2] += 0.5
    return out


def make_data(windows: int, n: int, folder: Path) -> dict[str, Path]:
    paths = {}
    for k, case in enumerate(CASES):
        rng = np.random.default_rng(100 + k)
        ref = draw(case, 20_000, rng, False)
        wins = np.stack([draw(case, n, rng, case != "no_change") for _ in range(windows)])
        paths[case] = folder / f"{case}.npz"
        np.savez(paths[case], reference=ref, windows=wins)
    return paths


# ------------------------------------------------------------------ ours
def run_ours(path: Path) -> dict[str, Any]:
    from modelsteward.baseline.joint import JointReference
    from modelsteward.drift.multivariate import (
        detect_classifier_drift,
        detect_reconstruction_drift,
    )
    from modelsteward.stats.ks import ks_2samp_sorted

    data = np.load(path)
    ref, wins = data["reference"], data["windows"]
    ref_sorted = [np.sort(ref[:, j]) for j in range(len(FEATURES))]
    cols = lambda m: {f: m[:, j] for j, f in enumerate(FEATURES)}  # noqa: E731
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    joint = JointReference.fit(cols(ref))
    fit_s = time.perf_counter() - t0
    for name, fn in (("ours: reconstruction", lambda w: detect_reconstruction_drift(
                         joint, cols(w), alpha=0.01).is_drifted),
                     ("ours: classifier", lambda w: detect_classifier_drift(
                         joint, cols(w), p_threshold=0.01, min_auc=0.55).is_drifted),
                     ("per-feature KS (today)", lambda w: any(
                         ks_2samp_sorted(ref_sorted[j], w[:, j])[1] < 0.01 / len(FEATURES)
                         for j in range(len(FEATURES))))):
        t0 = time.perf_counter()
        flags = [bool(fn(w)) for w in wins]
        out[name] = {"flags": flags, "seconds": time.perf_counter() - t0
                     + (fit_s if name.startswith("ours") else 0.0)}
    return out


# ------------------------------------------------------------------ peers (run in their venvs)
def run_nannyml(path: Path) -> dict[str, Any]:
    import pandas as pd
    from nannyml.drift.multivariate.data_reconstruction import DataReconstructionDriftCalculator

    data = np.load(path)
    ref, wins = data["reference"], data["windows"]
    n = wins.shape[1]
    t0 = time.perf_counter()
    calc = DataReconstructionDriftCalculator(column_names=FEATURES, chunk_size=n)
    calc.fit(pd.DataFrame(ref, columns=FEATURES))
    res = calc.calculate(pd.DataFrame(wins.reshape(-1, wins.shape[2]), columns=FEATURES))
    df = res.filter(period="analysis").to_df()
    alert_col = next(c for c in df.columns if c[-1] == "alert")
    flags = [bool(v) for v in df[alert_col].tolist()][: wins.shape[0]]
    return {"NannyML reconstruction": {"flags": flags, "seconds": time.perf_counter() - t0}}


def run_alibi(path: Path, max_windows: int = 0) -> dict[str, Any]:
    """alibi-detect's two detectors, one thread (torch and OpenMP), on the first
    ``max_windows`` windows (0: all); each detector's progress goes to stderr."""
    import torch

    torch.set_num_threads(1)
    from alibi_detect.cd import ClassifierDrift, MMDDrift
    from sklearn.ensemble import HistGradientBoostingClassifier

    data = np.load(path)
    ref, wins = data["reference"].astype(np.float32), data["windows"].astype(np.float32)
    if max_windows:
        wins = wins[:max_windows]
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    cd = ClassifierDrift(ref[rng.choice(len(ref), 2_000, replace=False)],
                         model=HistGradientBoostingClassifier(max_iter=30), backend="sklearn",
                         p_val=0.01, n_folds=5, preds_type="probs", binarize_preds=False)
    flags = []
    for w in wins:
        flags.append(bool(cd.predict(w)["data"]["is_drift"]))
        print(f"alibi ClassifierDrift window {len(flags)}: {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
    out["alibi ClassifierDrift"] = {"flags": flags, "seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    mmd = MMDDrift(ref[rng.choice(len(ref), MMD_REF_ROWS, replace=False)], backend="pytorch",
                   p_val=0.01, n_permutations=100)
    flags = []
    for w in wins:
        flags.append(bool(mmd.predict(w)["data"]["is_drift"]))
        print(f"alibi MMDDrift window {len(flags)}: {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
    out["alibi MMDDrift"] = {"flags": flags, "seconds": time.perf_counter() - t0}
    return out


def peer(python: Path, kind: str, path: Path, max_windows: int = 0,
         timeout: float = 900) -> dict[str, Any]:
    if not python.exists():
        return {"error": f"{python} not found"}
    cmd = [str(python), __file__, "--peer", kind, "--data", str(path),
           "--peer-windows", str(max_windows)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ENV},
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        last = [ln for ln in err.splitlines() if ln.startswith(kind)][-1:]
        return {"error": f"{kind} timed out after {timeout:.0f} s; last progress: {last}"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------ cost
def cost(rows: int, repeats: int = 3) -> dict[str, float]:
    """Median seconds of one window check, 100 columns x ``rows``, with and without joint."""
    import pandas as pd

    from modelsteward.baseline import Baseline
    from modelsteward.monitor.judge import JudgeContext, judge_window
    from modelsteward.monitor.measure import measure_window
    from modelsteward.monitor.policy import load_policy

    rng = np.random.default_rng(7)
    base_cov = rng.normal(size=(100, 100)) / 10
    ref = pd.DataFrame(rng.normal(size=(rows, 100)) @ base_cov,
                       columns=[f"c{i}" for i in range(100)])
    cur = pd.DataFrame(rng.normal(size=(rows, 100)) @ base_cov, columns=ref.columns)
    t0 = time.perf_counter()
    base = Baseline.fit(ref, joint=True)
    fit_joint = time.perf_counter() - t0
    plain = Baseline(columns=base.columns, n_bins=base.n_bins)
    pol = load_policy("default")

    def once(b: Any) -> float:
        t = time.perf_counter()
        m = measure_window(b, cur, index=0, label="w", policies=[pol])
        judge_window(m, pol, JudgeContext("m", "1"))
        return time.perf_counter() - t

    today = statistics.median(once(plain) for _ in range(repeats))
    joint = statistics.median(once(base) for _ in range(repeats))
    return {"rows": rows, "per_feature_s": today, "with_joint_s": joint,
            "ratio": joint / today, "fit_with_joint_s": fit_joint}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", type=int, default=10)
    ap.add_argument("--window-rows", type=int, default=1_000)
    ap.add_argument("--cost-rows", type=int, default=100_000)
    ap.add_argument("--peers", default="nannyml,alibi",
                    help="comma list of nannyml, alibi; empty for none")
    ap.add_argument("--peer", choices=["nannyml", "alibi"])
    ap.add_argument("--alibi-windows", type=int, default=3,
                    help="windows per case for alibi-detect (its detectors are slow)")
    ap.add_argument("--peer-timeout", type=float, default=900, help="seconds per peer run")
    ap.add_argument("--peer-windows", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--data")
    args = ap.parse_args()
    if args.peer:
        if args.peer == "nannyml":
            print(json.dumps(run_nannyml(Path(args.data))))
        else:
            print(json.dumps(run_alibi(Path(args.data), args.peer_windows)))
        return
    sys.path.insert(0, str(ROOT / "src"))
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_data(args.windows, args.window_rows, Path(tmp))
        for case, path in paths.items():
            res = run_ours(path)
            chosen = [p for p in args.peers.split(",") if p]
            if "nannyml" in chosen:
                res.update(peer(ROOT.parent / "main" / ".venv-bench" / "bin" / "python",
                                "nannyml", path))
            if "alibi" in chosen:
                res.update(peer(ROOT.parent / "main" / ".venv-bench-alibi" / "bin" / "python",
                                "alibi", path, args.alibi_windows, args.peer_timeout))
            results[case] = res
            brief = {m: r if m == "error" else [sum(r["flags"]), round(r["seconds"], 2)]
                     for m, r in res.items()}
            print(case, json.dumps(brief), flush=True)
    methods = sorted({m for r in results.values() for m in r if m != "error"})
    print(f"windows of {args.window_rows} rows, {args.windows} per case; detected / windows "
          "(no_change: false alarms); seconds for all windows of the case")
    print(f"{'method':28}" + "".join(f"{c:>18}" for c in CASES))
    for m in methods:
        cells = []
        for case in CASES:
            r = results[case].get(m)
            cells.append(f"{sum(r['flags'])}/{len(r['flags'])} {r['seconds']:6.1f}s"
                         if r else "n/a")
        print(f"{m:28}" + "".join(f"{c:>18}" for c in cells))
    for case in CASES:
        if "error" in results[case]:
            print(f"peer error ({case}): {results[case]['error']}")
    if args.cost_rows:
        c = cost(args.cost_rows)
        print(f"cost, one window of 100 columns x {c['rows']:,} rows: per-feature checks "
              f"{c['per_feature_s']:.2f} s, with joint checks {c['with_joint_s']:.2f} s "
              f"(ratio {c['ratio']:.2f}x; target <= 2x); fit with joint "
              f"{c['fit_with_joint_s']:.1f} s")


if __name__ == "__main__":
    main()
