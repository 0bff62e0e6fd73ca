"""Serving throughput: `steward serve` (durable prediction log) vs `mlflow models serve`.

Both serve the same registered scikit-learn model from the same SQLite tracking store in
the same run (the steward log both with ``synchronous=FULL``, the default, and with
``synchronous=normal``). A raw-asyncio HTTP/1.1 keep-alive load generator runs in a separate
process (so the client does not starve the servers), sending single-row requests at
concurrency 1, 16 and 64, 1,000- and 10,000-row batches at concurrency 1 and 4, and a mixed
load (90% single rows, 10% 1,000-row batches, concurrency 16). Reported: requests/s, rows/s,
p50 and p99 latency (the mixed load also per kind), the throughput and p99 ratios against
MLflow, errors, and the machine load (``uptime``) before and after.

    python benchmarks/serve_throughput.py [--seconds 8] [--repeats 2]
    python benchmarks/serve_throughput.py --only "1000 rows" --only mixed --no-normal
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
N_FEATURES = 6
MODEL = "bench_churn"


# --- load generator (runs in its own process) ------------------------------------------------
def _http_request(host: str, port: int, path: str, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


async def _worker(host: str, port: int, path: str, bodies: list[bytes], big_share: float,
                  seed: int, deadline: float, warm_until: float, lat: list[float],
                  counts: list[int], kinds: list[int]) -> None:
    """Requests back to back on one connection: ``bodies[0]``, or ``bodies[1]`` with
    probability ``big_share`` (a mixed load); ``kinds`` records which one each latency is."""
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    requests = [_http_request(host, port, path, b) for b in bodies]
    rng = random.Random(seed)
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        kind = 1 if big_share and rng.random() < big_share else 0
        writer.write(requests[kind])
        status_line = await reader.readline()
        length = 0
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        done = time.perf_counter()
        if now >= warm_until:
            lat.append(done - now)
            kinds.append(kind)
            if status_line[9:12] == b"200":
                counts[0] += 1
            else:
                counts[1] += 1
    writer.close()


async def _load(host: str, port: int, path: str, bodies: list[bytes], big_share: float,
                concurrency: int, seconds: float, warmup: float) -> dict[str, Any]:
    start = time.perf_counter()
    warm_until = start + warmup
    deadline = warm_until + seconds
    lat: list[float] = []
    kinds: list[int] = []
    counts = [0, 0]
    await asyncio.gather(*(_worker(host, port, path, bodies, big_share, i, deadline,
                                   warm_until, lat, counts, kinds)
                           for i in range(concurrency)))
    return {"ok": counts[0], "errors": counts[1], "seconds": seconds,
            "latencies_ms": [round(x * 1e3, 4) for x in lat], "kinds": kinds}


def _percentiles(lat: list[float]) -> tuple[float, float]:
    lat = sorted(lat)
    n = len(lat)
    if not n:
        return float("nan"), float("nan")
    return lat[n // 2], lat[min(n - 1, int(n * 0.99))]


def _summary(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Pool the runs of one scenario: throughput over all seconds, percentiles over all (and,
    for a mixed load, per kind of request: ``p99_small_ms``, ``p99_big_ms``)."""
    p50, p99 = _percentiles([x for r in runs for x in r["latencies_ms"]])
    seconds = sum(r["seconds"] for r in runs)
    out = {"rps": sum(r["ok"] for r in runs) / seconds,
           "errors": sum(r["errors"] for r in runs), "p50_ms": p50, "p99_ms": p99}
    pairs = [(x, k) for r in runs for x, k in zip(r["latencies_ms"], r.get("kinds", []),
                                                   strict=False)]
    if any(k for _, k in pairs):
        out["p99_small_ms"] = _percentiles([x for x, k in pairs if k == 0])[1]
        out["p99_big_ms"] = _percentiles([x for x, k in pairs if k == 1])[1]
        out["big_share"] = sum(k for _, k in pairs) / len(pairs)
    return out


def loadgen_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int)
    p.add_argument("--path")
    p.add_argument("--body-file")
    p.add_argument("--big-body-file")
    p.add_argument("--big-share", type=float, default=0.0)
    p.add_argument("--concurrency", type=int)
    p.add_argument("--seconds", type=float)
    p.add_argument("--warmup", type=float, default=1.0)
    a = p.parse_args(argv)
    bodies = [Path(a.body_file).read_bytes()]
    if a.big_body_file:
        bodies.append(Path(a.big_body_file).read_bytes())
    result = asyncio.run(_load("127.0.0.1", a.port, a.path, bodies, a.big_share,
                               a.concurrency, a.seconds, a.warmup))
    print(json.dumps(result))


# --- orchestration ---------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _register(tmp: Path) -> str:
    import mlflow
    import numpy as np
    import pandas as pd
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    exp = mlflow.create_experiment("bench", artifact_location=str(tmp / "artifacts"))
    rng = np.random.default_rng(0)
    X = pd.DataFrame({f"f{i}": rng.normal(size=2000) for i in range(N_FEATURES)})
    y = (X["f0"] + 0.5 * X["f1"] > 0).astype("int64")
    model = LogisticRegression().fit(X, y)
    with mlflow.start_run(experiment_id=exp):
        mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, y),
                                 registered_model_name=MODEL,
                                 pip_requirements=["scikit-learn"])
    mlflow.MlflowClient().set_registered_model_alias(MODEL, "production", "1")
    return uri


def _wait(url: str, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def _run_load(port: int, path: str, body: bytes, concurrency: int, seconds: float,
              tmp: Path, big: bytes | None = None, big_share: float = 0.0) -> dict[str, Any]:
    files = []
    for part in (body, big):
        if part is not None:
            files.append(tmp / f"body_{port}_{len(part)}.json")
            files[-1].write_bytes(part)
    extra = ["--big-body-file", str(files[1]), "--big-share", str(big_share)] if big else []
    out = subprocess.run(
        [sys.executable, __file__, "--loadgen", "--port", str(port), "--path", path,
         "--body-file", str(files[0]), "--concurrency", str(concurrency),
         "--seconds", str(seconds), *extra], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


#: (label, body kind, concurrency, rows per request); "mixed" sends "one" and 10% "batch"
SCENARIOS: list[tuple[str, str, int, float]] = [
    ("1 row, c=1", "one", 1, 1), ("1 row, c=16", "one", 16, 1), ("1 row, c=64", "one", 64, 1),
    ("1000 rows, c=1", "batch", 1, 1000), ("1000 rows, c=4", "batch", 4, 1000),
    ("10000 rows, c=1", "big", 1, 10_000), ("10000 rows, c=4", "big", 4, 10_000),
    ("mixed 90% 1 row / 10% 1000 rows, c=16", "mixed", 16, 0.9 + 0.1 * 1000),
]
MIXED_BIG_SHARE = 0.1


def _bodies(records: list[dict[str, float]], mlflow: bool) -> bytes:
    return json.dumps({"dataframe_records": records} if mlflow else records).encode()


def _table(results: dict[str, dict[str, float]], base: dict[str, dict[str, float]],
           labels: list[str]) -> None:
    rows_per = {label: per for label, _, _, per in SCENARIOS}
    print("| scenario | mlflow req/s | mlflow p50 / p99 ms | steward req/s (rows/s) | "
          "steward p50 / p99 ms | throughput ratio | p99 ratio |")
    print("|---|---|---|---|---|---|---|")
    for label in labels:
        b, o = base[label], results[label]
        print(f"| {label} | {b['rps']:.0f} | {b['p50_ms']:.1f} / {b['p99_ms']:.1f} | "
              f"{o['rps']:.0f} ({o['rps'] * rows_per[label]:.0f}) | "
              f"{o['p50_ms']:.1f} / {o['p99_ms']:.1f} | "
              f"{o['rps'] / max(b['rps'], 1e-9):.2f}x | {o['p99_ms'] / b['p99_ms']:.2f}x |")
        if "p99_big_ms" in o and "p99_big_ms" in b:
            print(f"|  ...single rows / batches p99 | | {b['p99_small_ms']:.1f} / "
                  f"{b['p99_big_ms']:.1f} | | {o['p99_small_ms']:.1f} / {o['p99_big_ms']:.1f} | "
                  f"| {o['p99_small_ms'] / b['p99_small_ms']:.2f}x / "
                  f"{o['p99_big_ms'] / b['p99_big_ms']:.2f}x |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--seconds", type=float, default=6.0, help="measured seconds per run")
    p.add_argument("--repeats", type=int, default=2, help="runs per scenario and server")
    p.add_argument("--only", action="append", default=[],
                   help="run only scenarios whose label contains this text (repeatable)")
    p.add_argument("--no-normal", action="store_true",
                   help="skip the synchronous=normal steward server (durable log only)")
    args = p.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("DO_NOT_TRACK", "true")
    venv_bin = Path(sys.executable).parent
    tmp = Path(tempfile.mkdtemp(prefix="serve_bench_"))
    uri = _register(tmp)
    # mlflow models serve execs `uvicorn` by name: put this venv's bin first on PATH
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri,
           "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    rng = random.Random(0)

    def records(n: int) -> list[dict[str, float]]:
        return [{f"f{i}": round(rng.gauss(0, 1), 4) for i in range(N_FEATURES)}
                for _ in range(n)]

    data = {"one": records(1), "batch": records(1000), "big": records(10_000)}
    servers: dict[str, dict[str, Any]] = {
        "mlflow models serve": {
            "cmd": [str(venv_bin / "mlflow"), "models", "serve", "-m",
                    f"models:/{MODEL}@production", "--env-manager", "local", "--host",
                    "127.0.0.1"],
            "path": "/invocations", "ready": "/ping",
            **{k: _bodies(v, True) for k, v in data.items()},
        },
        "steward serve (synchronous=normal)": {
            "cmd": [str(venv_bin / "steward"), "serve", "--model", MODEL, "--log",
                    f"sqlite:///{tmp / 'predictions_normal.db'}?synchronous=normal",
                    "--host", "127.0.0.1"],
            "path": "/predict", "ready": "/ready",
            **{k: _bodies(v, False) for k, v in data.items()},
        },
        "steward serve (durable log)": {
            "cmd": [str(venv_bin / "steward"), "serve", "--model", MODEL, "--log",
                    f"sqlite:///{tmp / 'predictions.db'}", "--host", "127.0.0.1"],
            "path": "/predict", "ready": "/ready",
            **{k: _bodies(v, False) for k, v in data.items()},
        },
    }
    if args.no_normal:
        del servers["steward serve (synchronous=normal)"]
    scenarios = [s for s in SCENARIOS if not args.only or any(o in s[0] for o in args.only)]
    # all servers run for the whole benchmark; every scenario runs on one then the other,
    # alternating which goes first, so a change in machine load hits both alike
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ports: dict[str, int] = {}
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {n: {} for n in servers}
    load_before = _uptime()
    try:
        for name, spec in servers.items():
            ports[name] = _free_port()
            procs[name] = subprocess.Popen(
                [*spec["cmd"], "--port", str(ports[name])], env=env, cwd=tmp,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, spec in servers.items():
            _wait(f"http://127.0.0.1:{ports[name]}{spec['ready']}")
        names = list(servers)
        for rep in range(args.repeats):
            for label, kind, conc, _ in scenarios:
                for name in (names if rep % 2 == 0 else names[::-1]):
                    spec = servers[name]
                    if kind == "mixed":
                        r = _run_load(ports[name], spec["path"], spec["one"], conc,
                                      args.seconds, tmp, spec["batch"], MIXED_BIG_SHARE)
                    else:
                        r = _run_load(ports[name], spec["path"], spec[kind], conc,
                                      args.seconds, tmp)
                    runs[name].setdefault(label, []).append(r)
                    rps = r["ok"] / r["seconds"]
                    print(f"  run {rep + 1}  {name:28s} {label:40s} {rps:8.1f} req/s  "
                          f"errors {r['errors']}", flush=True)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    load_after = _uptime()
    logged = None
    try:
        from modelsteward.store import PredictionLog

        counted = PredictionLog(f"sqlite:///{tmp / 'predictions.db'}")
        try:  # batched requests are one row each: the log counts their predictions
            logged = counted.count()
        finally:
            counted.close()
    except Exception:  # noqa: BLE001
        pass

    results = {n: {label: _summary(rs) for label, rs in by.items()} for n, by in runs.items()}
    base = results["mlflow models serve"]
    labels = [s[0] for s in scenarios]
    print()
    print("durable log (SQLite WAL, synchronous=FULL: every commit is fsynced):")
    _table(results["steward serve (durable log)"], base, labels)
    if "steward serve (synchronous=normal)" in results:
        print("\nsynchronous=normal (a crash of the process loses nothing committed, a power "
              "cut may lose the last commits):")
        _table(results["steward serve (synchronous=normal)"], base, labels)
    errors = {n: sum(int(r["errors"]) for r in res.values()) for n, res in results.items()}
    print(f"\nerrors: {errors}; predictions in the steward log: {logged}")
    print(f"load before: {load_before}\nload after:  {load_after}")
    print(f"{args.repeats} x {args.seconds:.0f} s measured per scenario and server (1 s warm-up "
          "each), servers alternating; 2-core machine; load generator in its own process.")
    shutil.rmtree(tmp, ignore_errors=True)  # the logs hold millions of rows (GBs)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--loadgen":
        loadgen_main(sys.argv[2:])
    else:
        sys.exit(main())
