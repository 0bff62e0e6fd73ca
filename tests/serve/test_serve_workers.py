"""Several workers: one version after a promotion, and /metrics summed over every worker
(issue 13 item 4)."""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import httpx
from serve_harness import MODEL, Registry, ServerFactory, row, until

from modelsteward.serve.metrics import Metrics, SharedMetrics
from modelsteward.store import PredictionLog


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name} missing from /metrics"
    return float(match.group(1))


def test_shared_metrics_sum_workers_and_drop_dead_gauges(tmp_path: Path) -> None:
    mine, other = Metrics(), Metrics()
    mine.observe("/predict", 200, 0.003)
    other.observe("/predict", 200, 0.2)
    other.observe("/predict", 422, 0.001)
    other.predictions = 5
    dead = SharedMetrics(tmp_path)
    dead.path = tmp_path / "worker-999999999.json"
    dead.pid = 999_999_999  # no such process: its counters count, its gauges do not
    dead.write({**other.snapshot(), "gauges": {"version": "1"}})
    others = SharedMetrics(tmp_path).others()
    assert [o["alive"] for o in others] == [False]
    merged = Metrics()
    for snap in [mine.snapshot(), *others]:
        merged.add_snapshot(snap)
    text = merged.render({})
    assert 'steward_requests_total{route="/predict",status="200"} 2' in text
    assert 'steward_requests_total{route="/predict",status="422"} 1' in text
    assert 'steward_request_duration_seconds_count{route="/predict"} 3' in text
    assert merged.predictions == 5


def test_two_workers_switch_together_and_metrics_count_every_worker(
        start_server: ServerFactory, registry: Registry) -> None:
    v1, v2 = registry.versions["v1"], registry.versions["v2"]
    registry.set_alias(v1)
    server = start_server(extra=["--workers", "2"])
    stop = threading.Event()
    ok = [0]
    failures: list[str] = []
    lock = threading.Lock()

    def traffic(k: int) -> None:
        # a new connection per request: requests spread over both workers
        with server.client(limits=httpx.Limits(max_keepalive_connections=0)) as c:
            i = k
            while not stop.is_set():
                r = c.post("/predict", json=[row(i), row(i + 1)])
                with lock:
                    if r.status_code == 200:
                        ok[0] += 1
                    else:
                        failures.append(f"{r.status_code}: {r.text[:200]}")
                i += 3

    def switched_pids() -> set[int]:
        done: set[int] = set()
        for _ in range(8):
            s = httpx.get(f"{server.base}/status", headers=server.headers(), timeout=10).json()
            if s["model_version"] == v2 and s["draining_version"] is None:
                done.add(s["pid"])
        return done

    started = time.time()
    threads = [threading.Thread(target=traffic, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    seen: set[int] = set()
    try:
        until(lambda: ok[0] > 30, what="traffic on v1")
        registry.set_alias(v2)

        def all_switched() -> bool:
            seen.update(switched_pids())
            return len(seen) == 2

        until(all_switched, what="both workers on v2")
        switch_done = time.time()
        n_at_switch = ok[0]
        until(lambda: ok[0] > n_at_switch + 30, what="traffic after the switch")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        registry.set_alias(v1)
    assert not failures, failures[:5]
    plog = PredictionLog(server.log_url)
    frame = plog.read_frame(MODEL, since=started)
    plog.close()
    after = frame[frame["timestamp"].map(lambda t: t.timestamp()) > switch_done]
    assert set(frame["model_version"]) == {v1, v2}
    assert len(after) >= 60 and set(after["model_version"]) == {v2}, \
        after["model_version"].value_counts()

    time.sleep(1.5)  # every worker has left its latest counters (every 0.5 s)
    for _ in range(6):  # new connections: the scrapes land on both workers
        text = httpx.get(f"{server.base}/metrics", headers=server.headers(), timeout=10).text
        assert _metric(text, 'steward_requests_total{route="/predict",status="200"}') == ok[0]
        assert _metric(text, "steward_predictions_total") == 2 * ok[0] == len(frame)
        assert _metric(text, "steward_workers") == 2
        assert _metric(text, f'steward_model_info{{model="{MODEL}",version="{v1}"}}') == 2
    assert os.environ.get("STEWARD_METRICS_DIR") is None  # the runner's, not the tests'
