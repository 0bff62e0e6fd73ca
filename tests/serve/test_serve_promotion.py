"""Promotions and rollbacks are picked up while serving; bad versions and a lost tracking
server leave the loaded model serving."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from serve_harness import MODEL, Registry, ServerFactory, _free_port, row, until

from modelsteward.store import PredictionLog

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shared(start_module_server: ServerFactory):  # type: ignore[no-untyped-def]
    return start_module_server()


def _swaps(server) -> int:  # type: ignore[no-untyped-def]
    with server.client() as c:
        for line in c.get("/metrics").text.splitlines():
            if line.startswith("steward_model_swaps_total "):
                return int(float(line.split()[1]))
    raise AssertionError("no swap counter in /metrics")


def test_promotion_and_rollback_during_steady_traffic(shared, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    v1, v2 = registry.versions["v1"], registry.versions["v2"]
    server = shared
    swaps_before = _swaps(server)
    started = time.time()
    stop = threading.Event()
    seen: list[str] = []
    failures: list[str] = []
    lock = threading.Lock()

    def traffic(k: int) -> None:
        with server.client() as c:
            i = k
            while not stop.is_set():
                try:
                    r = c.post("/predict", json=[row(i)])
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                with lock:
                    if r.status_code == 200:
                        body = r.json()
                        seen.append(body["model_version"])
                        # each version answers with its own rule: v1 age>40, v2 the opposite
                        expected = int(row(i)["age"] > 40) ^ (body["model_version"] == v2)
                        if body["predictions"] != [expected]:
                            failures.append(f"v{body['model_version']} predicted wrongly")
                    else:
                        failures.append(f"{r.status_code}: {r.text}")
                i += 4

    threads = [threading.Thread(target=traffic, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    try:
        until(lambda: len(seen) > 40, what="traffic on v1")
        registry.set_alias(v2)  # promote
        until(lambda: seen[-1] == v2, what="the promotion")
        n_at_promotion = len(seen)
        until(lambda: len(seen) > n_at_promotion + 40, what="traffic on v2")
        registry.set_alias(v1)  # roll back
        until(lambda: seen[-1] == v1, what="the rollback")
        n_at_rollback = len(seen)
        until(lambda: len(seen) > n_at_rollback + 40, what="traffic after the rollback")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        registry.set_alias(v1)
    assert not failures, failures[:5]
    log = PredictionLog(server.log_url)
    versions = log.read_frame(MODEL, since=started)["model_version"].tolist()
    log.close()
    assert len(versions) == len(seen)
    switches = [i for i in range(1, len(versions)) if versions[i] != versions[i - 1]]
    # v1 ... v1 | v2 ... v2 | v1 ... v1: the log switches exactly twice, once each way
    assert len(switches) == 2, switches
    assert versions[0] == v1 and versions[switches[0]] == v2 and versions[switches[1]] == v1
    assert _swaps(server) == swaps_before + 2  # one swap each way, nothing else


def test_version_that_fails_to_load_keeps_the_old_one(shared, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    v1, broken = registry.versions["v1"], registry.versions["broken"]
    server = shared
    try:
        registry.set_alias(broken)
        with server.client() as c:
            until(lambda: (c.get("/status").json().get("last_load_error") or {})
                   .get("version") == broken, what="the failed load")
            health = c.get("/status").json()
            assert health["status"] == "degraded" and health["model_version"] == v1
            assert any("failed to load" in p for p in health["problems"])
            r = c.post("/predict", json=[row(1)])
            assert r.status_code == 200 and r.json()["model_version"] == v1
            assert c.get("/ready").status_code == 200
            metrics = c.get("/metrics").text
            assert "steward_model_load_failures_total 0" not in metrics
            registry.set_alias(v1)
            until(lambda: c.get("/status").json()["status"] == "ok", what="recovery")
    finally:
        registry.set_alias(v1)


def test_tracking_server_down_keeps_serving(start_server: ServerFactory,
                                            registry: Registry) -> None:
    port = _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
           "MLFLOW_DISABLE_TELEMETRY": "true"}
    venv_bin = os.path.dirname(sys.executable)
    env["PATH"] = f"{venv_bin}{os.pathsep}{env.get('PATH', '')}"
    tracking = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", registry.uri,
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env, cwd=registry.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # its uvicorn worker is a child: kill the whole group

    def kill_tracking() -> None:
        if tracking.poll() is None or _group_alive(tracking.pid):
            try:
                os.killpg(tracking.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            tracking.wait(20)

    try:
        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        until(up, timeout=90, what="mlflow server")
        server = start_server(tracking_uri=f"http://127.0.0.1:{port}")
        with server.client() as c:
            assert c.get("/status").json()["tracking"]["reachable"] is True
            kill_tracking()
            until(lambda: c.get("/status").json()["tracking"]["reachable"] is False,
                   what="/health to notice")
            health = c.get("/status").json()
            assert health["status"] == "degraded"
            assert any("tracking server unreachable" in p for p in health["problems"])
            assert health["tracking"]["error"]
            for i in range(5):
                r = c.post("/predict", json=[row(i)])
                assert r.status_code == 200 and r.json()["model_version"] == "1"
            assert "steward_tracking_reachable 0" in c.get("/metrics").text
    finally:
        kill_tracking()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
