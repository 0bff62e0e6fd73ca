"""Performance monitoring benchmark: synthetic streams with known change points, ours against
NannyML's realized-performance calculator and its estimators (CBPE, DLE).

Each stream: a held-out reference split of 5,000 rows (the model's validation data) and
12 windows of 1,000 rows; the change starts at window 6 (windows 0-5 are clean: every flag
there is a false alarm). The model is the true relation before the change (a calibrated
logistic model, a softmax over three classes, a linear regression with noise that grows
with |x2|). Streams, per task (binary, multiclass, regression):

* ``abrupt``    - the relation changes at once (a coefficient flips / two classes swap);
* ``gradual``   - the share of rows under the new relation grows 25% per window;
* ``local``     - the relation changes only where x0 > 0.5 (about 30% of rows);
* ``mild``      - a small change everywhere (binary: the x1 coefficient 1 -> 0.6; multiclass:
  the true class probabilities flatter, logits x 0.7; regression: + 0.25 x1), the kind of
  drop a fixed correlation threshold misses;
* ``covariate`` - the inputs move into a harder region, the relation holds (classification:
  x squeezed towards the decision boundary; regression: |x2| grows, so does the noise);
* ``label_noise`` - 15% of the labels are replaced at random (regression: 30% get extra noise).

Methods, a window flagged when: correlation test alone (``detect_concept_drift``, p < 0.01
and a drop >= 0.1 Fisher z units), ours realized (a watched metric below its band: ROC AUC
or F1 binary, macro F1 multiclass, MAE regression; policy ``default``), ours realized F1+AUC
(multiclass only, not the default: macro AUC watched besides macro F1), ours estimated (the
CBPE estimate below its band), ours residual (regression only, a candidate we measured and
did not ship: expected |residual| given the prediction, see ``residual_candidate``; its own
diagnosis is printed per regression stream), NannyML 0.13.1 ``PerformanceCalculator`` (same
metrics, chunk = window, its default thresholds from the reference chunks) and ``CBPE`` /
``DLE`` (estimated; run in ``.venv-bench`` as a subprocess). Diagnosis: our label for each
window after the change. Estimation accuracy: mean |estimated - realized| of ROC AUC
(multiclass: macro one-vs-rest) and accuracy over all windows of the classification streams.
Last, the false-alarm rate of macro F1, macro AUC and either on 1,000 stable multiclass
windows of 500 rows.

    python benchmarks/performance_monitoring.py [--windows 12] [--window-rows 1000]
        [--peers nannyml] [--peer-timeout 1200]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TASKS = ("binary", "multiclass", "regression")
STREAMS = ("abrupt", "gradual", "local", "mild", "covariate", "label_noise")
CHANGE = 6
REF_ROWS = 5_000
FEATURES = ["x0", "x1", "x2"]
ENV = {"DO_NOT_TRACK": "1", "NML_DISABLE_USAGE_LOGGING": "1", "OMP_NUM_THREADS": "1",
       "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
WATCH = {"binary": ("roc_auc", "f1"), "multiclass": ("f1",), "regression": ("mae",)}


def _sig(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _logits(x: np.ndarray, new: bool) -> np.ndarray:
    a, b = 1.5 * x[:, 0], 1.5 * x[:, 1]
    c = -a - b
    return np.column_stack([a, c, b] if new else [a, b, c])


def draw(task: str, stream: str, n: int, window: int, rng: np.random.Generator
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, the model's predictions and the outcomes of one window (window < 0: the
    reference split)."""
    changed = window >= CHANGE
    share = (1.0 if stream == "abrupt" else min(1.0, (window - CHANGE + 1) / 4)
             if stream == "gradual" else 1.0) if changed else 0.0
    x = rng.normal(size=(n, 3))
    if changed and stream == "covariate":
        if task == "regression":
            x[:, 2] *= 2.5
        else:
            x[:, :2] *= 0.35
    new = np.zeros(n, dtype=bool)
    if changed and stream in ("abrupt", "gradual", "mild"):
        new = rng.uniform(size=n) < share
    elif changed and stream == "local":
        new = x[:, 0] > 0.5
    if task == "binary":
        pred = _sig(2 * x[:, 0] + x[:, 1])
        after = (_sig(2 * x[:, 0] + 0.6 * x[:, 1]) if stream == "mild" else
                 _sig(2 * x[:, 0] - x[:, 1]) if stream != "local" else 0.5)
        true = np.where(new, after, pred)
        y = (rng.uniform(size=n) < true).astype(float)
        if changed and stream == "label_noise":
            flip = rng.uniform(size=n) < 0.15
            y[flip] = (rng.uniform(size=int(flip.sum())) < 0.5).astype(float)
        return x, pred, y
    if task == "multiclass":
        pred = _softmax(_logits(x, False))
        true = pred.copy()
        if new.any():
            true[new] = (_softmax(0.7 * _logits(x[new], False)) if stream == "mild" else
                         _softmax(_logits(x[new], True)) if stream != "local"
                         else np.full((int(new.sum()), 3), 1 / 3))
        y = (rng.uniform(size=(n, 1)) > np.cumsum(true, axis=1)).sum(axis=1).astype(float)
        y = np.minimum(y, 2)
        if changed and stream == "label_noise":
            flip = rng.uniform(size=n) < 0.15
            y[flip] = rng.integers(0, 3, int(flip.sum()))
        return x, pred, y
    pred = x[:, 0] + 0.5 * x[:, 1]
    noise = rng.normal(size=n) * (0.5 + 0.5 * np.abs(x[:, 2]))
    change = (0.25 if stream == "mild" else 0.8) * x[:, 1] + (1.0 if stream == "local" else 0.0)
    y = pred + noise + np.where(new, change, 0.0)
    if changed and stream == "label_noise":
        extra = rng.uniform(size=n) < 0.3
        y[extra] += rng.normal(0, 2.0, int(extra.sum()))
    return x, pred, y


def make_data(windows: int, n: int, out: Path) -> dict[str, Path]:
    paths = {}
    for ti, task in enumerate(TASKS):
        for si, stream in enumerate(STREAMS):
            rng = np.random.default_rng([ti, si])
            xr, pr, yr = draw(task, stream, REF_ROWS, -1, rng)
            parts = [draw(task, stream, n, w, rng) for w in range(windows)]
            path = out / f"{task}-{stream}.npz"
            np.savez(path, x_ref=xr, p_ref=pr, y_ref=yr,
                     x=np.concatenate([p[0] for p in parts]),
                     p=np.concatenate([p[1] for p in parts]),
                     y=np.concatenate([p[2] for p in parts]), n=n, task=task)
            paths[f"{task}-{stream}"] = path
    return paths


# ------------------------------------------------------------------ ours
def run_ours(path: Path) -> dict[str, Any]:
    from modelsteward.baseline.concept import ConceptReference
    from modelsteward.monitor.concept import detect_concept_drift
    from modelsteward.monitor.performance_checks import measure
    from modelsteward.monitor.policy import load_policy
    from modelsteward.monitor.windows import split_windows

    d = np.load(path)
    n, task = int(d["n"]), str(d["task"])
    t0 = time.perf_counter()
    ref = ConceptReference.fit(d["p_ref"], d["y_ref"], task=task)
    fit_s = time.perf_counter() - t0
    p, y = d["p"], d["y"]
    wins = split_windows(None, n, n_rows=len(y))
    t0 = time.perf_counter()
    corr = detect_concept_drift(p, y, None, reference_correlation=ref, windows=wins)
    corr_s = time.perf_counter() - t0

    class _Base:
        concept = ref

    import pandas as pd

    frame = pd.DataFrame({"prediction": list(p) if task == "multiclass" else p, "outcome": y})
    t0 = time.perf_counter()
    perf = measure(frame, wins, _Base(), load_policy("default"),
                   scores=None if task == "multiclass" else p)
    perf_s = time.perf_counter() - t0 + fit_s
    res = [perf[w.index] for w in wins]
    variant: dict[str, Any] = {}
    if task == "multiclass":  # not the default: what watching macro AUC as well would add
        pol = load_policy("default").with_overrides(
            {"performance_metrics": "macro_f1, macro_auc"}, "benchmark variant")
        alt = measure(frame, wins, _Base(), pol, scores=None)
        variant = {"ours realized F1+AUC": {
            "flags": [any(c.status == "drop" for c in alt[w.index].checks) for w in wins],
            "seconds": 0.0}}
    auc = "roc_auc" if task == "binary" else "macro_auc"
    return {
        "correlation test": {"flags": [r.is_drifted for r in corr], "seconds": corr_s},
        "ours realized": {"flags": [any(c.status == "drop" for c in r.checks) for r in res],
                          "seconds": perf_s},
        "ours estimated": {"flags": [any(c.estimated_status == "drop" for c in r.checks)
                                     for r in res], "seconds": perf_s},
        "diagnosis": [r.diagnosis.kind for r in res],
        "estimation": {m: [(r.estimated.get(k), r.performance.get(k)) for r in res]
                       for m, k in (("auc", auc), ("accuracy", "accuracy"))}
        if task != "regression" else {},
        **variant,
        **({"ours residual (not shipped)": {
            "seconds": 0.0, **residual_candidate(d["p_ref"], d["y_ref"], p, y, n)}}
           if task == "regression" else {}),
    }


def stable_multiclass_rates(windows: int = 1_000, n: int = 500) -> dict[str, int]:
    """Windows flagged out of ``windows`` stable multiclass windows of ``n`` rows (the model is
    the truth; policy default: alpha 0.01, min_drop 0.005), by macro F1 (the default), by
    macro AUC, and by either (what watching both would alert on)."""
    from modelsteward.baseline.concept import ConceptReference
    from modelsteward.drift.performance import Bands, window_performance

    rng = np.random.default_rng(7)
    _, pr, yr = draw("multiclass", "abrupt", REF_ROWS, -1, rng)
    ref = ConceptReference.fit(pr, yr, task="multiclass")
    bands = Bands(ref, alpha=0.01)
    out = {"macro_f1": 0, "macro_auc": 0, "either": 0}
    for _ in range(windows):
        _, p, y = draw("multiclass", "abrupt", n, 0, rng)
        r = window_performance(ref, p, y, bands=bands, metrics=("macro_f1", "macro_auc"),
                               min_drop=0.005)
        f1, auc = r.status("macro_f1") == "drop", r.status("macro_auc") == "drop"
        out["macro_f1"] += f1
        out["macro_auc"] += auc
        out["either"] += f1 or auc
    return out


# ------------------------------------------------------------------ a regression candidate
def residual_candidate(p_ref: np.ndarray, y_ref: np.ndarray, p: np.ndarray, y: np.ndarray,
                       n: int, *, z: float = 2.326, bins: int = 20, n_boot: int = 200
                       ) -> dict[str, Any]:
    """The label-free regression estimate we tried and did NOT ship: expected |residual|
    given the prediction (the reference's mean |y - p| in 20 prediction-quantile bins),
    averaged over a window's predictions. Band: the estimate over bootstrap resamples of the
    reference predictions at the window's size, widened by the reference MAE's own
    uncertainty (as the shipped estimated bands are). Diagnosis, on windows whose realized
    MAE is above its band: concept drift when the realized MAE exceeds the estimate by more
    than z sd, covariate shift otherwise."""
    rng = np.random.default_rng(0)
    r = np.abs(y_ref - p_ref)
    edges = np.quantile(p_ref, np.linspace(0, 1, bins + 1))[1:-1]
    means = np.array([r[np.searchsorted(edges, p_ref) == b].mean() for b in range(bins)])

    def est(q: np.ndarray) -> float:
        return float(means[np.searchsorted(edges, q)].mean())

    centre, mae_ref = est(p_ref), float(r.mean())
    boot_e = [est(p_ref[rng.integers(0, p_ref.size, n)]) for _ in range(n_boot)]
    boot_r = [float(r[rng.integers(0, r.size, n)].mean()) for _ in range(n_boot)]
    sd_r = float(np.std(boot_r, ddof=1)) * np.sqrt(1 + n / r.size)
    sd_e = float(np.sqrt(np.var(boot_e, ddof=1) + np.var(boot_r, ddof=1) * n / r.size))
    flags, kinds = [], []
    for i in range(0, y.size, n):
        e, a = est(p[i:i + n]), float(np.abs(y[i:i + n] - p[i:i + n]).mean())
        flags.append(e > centre + z * sd_e)
        if a <= mae_ref + z * sd_r:
            kinds.append("ok")
        else:
            kinds.append("concept_drift" if (a - e) / sd_r > z else "covariate_shift")
    return {"flags": flags, "diagnosis": kinds}


# ------------------------------------------------------------------ NannyML (its own venv)
def run_nannyml(path: Path) -> dict[str, Any]:
    import nannyml as nml
    import pandas as pd

    d = np.load(path)
    n, task = int(d["n"]), str(d["task"])

    def frame(x: np.ndarray, p: np.ndarray, y: np.ndarray) -> pd.DataFrame:
        df = pd.DataFrame(x, columns=FEATURES)
        if task == "binary":
            df["p"], df["yhat"], df["y"] = p, (p > 0.5).astype(int), y.astype(int)
        elif task == "multiclass":
            for k in range(3):
                df[f"p{k}"] = p[:, k]
            df["yhat"] = [f"c{k}" for k in p.argmax(axis=1)]
            df["y"] = [f"c{int(k)}" for k in y]
        else:
            df["yhat"], df["y"] = p, y
        return df

    ref, ana = frame(d["x_ref"], d["p_ref"], d["y_ref"]), frame(d["x"], d["p"], d["y"])
    problem = {"binary": "classification_binary", "multiclass": "classification_multiclass",
               "regression": "regression"}[task]
    proba: Any = ("p" if task == "binary" else {f"c{k}": f"p{k}" for k in range(3)}
                  if task == "multiclass" else None)
    out: dict[str, Any] = {}
    watch = list(WATCH[task])
    t0 = time.perf_counter()
    kw: dict[str, Any] = {"y_pred": "yhat", "y_true": "y", "chunk_size": n}
    calc = nml.PerformanceCalculator(metrics=watch + (["accuracy"] if task != "regression"
                                                      else []) + (["roc_auc"] if task ==
                                                                  "multiclass" else []),
                                     problem_type=problem, y_pred_proba=proba, **kw)
    calc.fit(ref)
    real = calc.calculate(ana).filter(period="analysis").to_df()
    out["NannyML realized"] = {
        "flags": [bool(any(real[(m, "alert")].iloc[i] for m in watch))
                  for i in range(len(real))],
        "seconds": time.perf_counter() - t0}
    t0 = time.perf_counter()
    if task == "regression":
        est = nml.DLE(feature_column_names=FEATURES, metrics=watch, **kw)
        name = "NannyML DLE"
    else:
        est = nml.CBPE(metrics=watch + ["accuracy"] + (["roc_auc"] if task == "multiclass"
                                                        else []),
                       y_pred_proba=proba, problem_type=problem, **kw)
        name = "NannyML CBPE"
    est.fit(ref)
    e = est.estimate(ana).filter(period="analysis").to_df()
    out[name] = {"flags": [bool(any(e[(m, "alert")].iloc[i] for m in watch))
                           for i in range(len(e))], "seconds": time.perf_counter() - t0}
    if task != "regression":
        out["estimation"] = {m: [(float(e[(m, "value")].iloc[i]),
                                  float(real[(m, "value")].iloc[i])) for i in range(len(e))]
                             for m in ("roc_auc", "accuracy")}
    return out


def peer(paths: dict[str, Path], timeout: float) -> dict[str, Any]:
    python = ROOT.parent / "main" / ".venv-bench" / "bin" / "python"
    if not python.exists():
        return {"error": f"{python} not found"}
    cmd = [str(python), __file__, "--peer", json.dumps({k: str(v) for k, v in paths.items()})]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ENV},
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"NannyML timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


# ------------------------------------------------------------------ tables
def score(flags: list[bool], n: int) -> tuple[int, int, int, int | None]:
    """(hits after the change, windows after, false alarms before, delay in rows)."""
    after = flags[CHANGE:]
    first = next((i for i, f in enumerate(after) if f), None)
    return sum(after), len(after), sum(flags[:CHANGE]), None if first is None else first * n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--windows", type=int, default=12)
    ap.add_argument("--window-rows", type=int, default=1_000)
    ap.add_argument("--peers", default="nannyml", help="nannyml, or empty for none")
    ap.add_argument("--peer-timeout", type=float, default=1_200)
    ap.add_argument("--peer", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer:
        runs = {}
        for key, path in json.loads(args.peer).items():
            t0 = time.perf_counter()
            runs[key] = run_nannyml(Path(path))
            print(f"{key}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
        print(json.dumps(runs))
        return
    sys.path.insert(0, str(ROOT / "src"))
    n = args.window_rows
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_data(args.windows, n, Path(tmp))
        ours = {}
        for key, path in paths.items():
            ours[key] = run_ours(path)
            print(key, "ours done", flush=True)
        peers = peer(paths, args.peer_timeout) if "nannyml" in args.peers else {}
    if "error" in peers:
        print("NannyML:", peers["error"])
    print(f"\n{REF_ROWS} reference rows, {args.windows} windows of {n} rows, change at window "
          f"{CHANGE}: hits/{args.windows - CHANGE} after the change, false alarms/{CHANGE} "
          "before, delay in rows after the change (0: the first changed window)")
    methods = ["correlation test", "ours realized", "ours realized F1+AUC", "ours estimated",
               "ours residual (not shipped)", "NannyML realized", "NannyML CBPE", "NannyML DLE"]
    print(f"{'stream':26}{'method':28}{'hits':>6}{'false':>7}{'delay':>7}{'seconds':>9}")
    totals: dict[str, list[int]] = {}
    for key in paths:
        row = {**ours[key], **peers.get(key, {})}
        for m in methods:
            if m not in row:
                continue
            hits, after, fa, delay = score(row[m]["flags"], n)
            t = totals.setdefault(m, [0, 0, 0])
            t[0] += hits
            t[1] += after
            t[2] += fa
            print(f"{key:26}{m:28}{hits:>6}{fa:>7}{'-' if delay is None else delay:>7}"
                  f"{row[m]['seconds']:>9.2f}")
        kinds = Counter(ours[key]["diagnosis"][CHANGE:])
        print(f"{key:26}{'diagnosis':28} after the change: {dict(kinds)}")
        cand = ours[key].get("ours residual (not shipped)")
        if cand:
            print(f"{key:26}{'diagnosis, residual cand.':28} after the change: "
                  f"{dict(Counter(cand['diagnosis'][CHANGE:]))}, before: "
                  f"{dict(Counter(cand['diagnosis'][:CHANGE]))}")
    print("\ntotals (hits / windows after changes, false alarms):")
    for m, (h, a, f) in totals.items():
        print(f"  {m:28} {h:>4}/{a}  false alarms {f}")
    cov = {k: Counter(v["diagnosis"][CHANGE:]) for k, v in ours.items() if "covariate" in k}
    print("covariate-only streams called concept drift:",
          {k: c.get("concept_drift", 0) for k, c in cov.items()})
    rates = stable_multiclass_rates()
    print("stable multiclass windows (1,000 of 500 rows, nominal 1% per metric) flagged by "
          f"macro F1 {rates['macro_f1']}, macro AUC {rates['macro_auc']}, either "
          f"{rates['either']}")
    print("\nestimation accuracy, mean |estimated - realized|: where the concept holds (the "
          "clean windows and the covariate-shift windows) / over all windows:")
    for label, src in (("ours", ours), ("NannyML CBPE", peers)):
        for metric in ("auc", "accuracy"):
            held: list[float] = []
            every: list[float] = []
            for key, row in src.items():
                if not isinstance(row, dict) or not row.get("estimation"):
                    continue
                pairs = row["estimation"].get(metric if label == "ours" else
                                              ("roc_auc" if metric == "auc" else metric), [])
                for i, (a, b) in enumerate(pairs):
                    if a is None or b is None or not (np.isfinite(a) and np.isfinite(b)):
                        continue
                    every.append(abs(a - b))
                    if i < CHANGE or "covariate" in key:
                        held.append(abs(a - b))
            if every:
                print(f"  {label:14} {metric:9} {np.mean(held):.4f} over {len(held)} windows"
                      f" / {np.mean(every):.4f} over {len(every)}")

if __name__ == "__main__":
    main()
