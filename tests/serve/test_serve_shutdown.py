"""Graceful operations (issue 13 item 5): SIGTERM drains in-flight requests and flushes the
log; /ready is false while draining; a version failing to load at start names itself."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import httpx
import pytest
from serve_harness import MODEL, Registry, Server, ServerFactory, row

from modelsteward.serve.app import _hook_shutdown_signals, create_app
from modelsteward.serve.config import ServeConfig
from modelsteward.store import PredictionLog

_LOCK = threading.Lock()


def _send(server: Server, body: list[dict[str, Any]],
          answers: list[tuple[float, int, list[str]]]) -> None:
    """POST ``body``; record when the answer came, its status and ids."""
    try:
        with server.client() as c:
            r = c.post("/predict", json=body)
    except httpx.HTTPError:
        return  # not accepted before the listening socket closed: not acknowledged
    ids = r.json().get("prediction_ids", []) if r.status_code == 200 else []
    with _LOCK:
        answers.append((time.time(), r.status_code, ids))


@pytest.mark.integration  # starts steward serve processes
def test_sigterm_drains_in_flight_requests_and_flushes_the_log(
        start_server: ServerFactory) -> None:
    """Big requests are in flight when SIGTERM arrives: each one the server answers is 200 and
    logged, and at least one was answered after the signal (it was drained, not cut)."""
    for _attempt in range(3):
        server = start_server()
        body = [row(i) for i in range(20_000)]
        with server.client() as c:  # warm: the first call loads everything
            assert c.post("/predict", json=body[:100]).status_code == 200
        answers: list[tuple[float, int, list[str]]] = []
        threads = [threading.Thread(target=_send, args=(server, body, answers))
                   for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.15)
        signalled = time.time()
        server.proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(120)
        server.proc.wait(60)
        assert all(status == 200 for _, status, _ in answers), [a[1] for a in answers]
        acked = [pid for _, _, ids in answers for pid in ids]
        plog = PredictionLog(server.log_url)
        try:
            logged = set(plog.prediction_ids(MODEL))
        finally:
            plog.close()
        assert set(acked) <= logged, f"{len(set(acked) - logged)} acknowledged rows missing"
        if any(at > signalled for at, _, _ in answers):
            return  # a request in flight at SIGTERM was finished and logged
    raise AssertionError("no request was in flight when SIGTERM arrived, in 3 attempts")


def test_ready_is_false_while_draining(registry: Registry, tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    registry.set_alias(registry.versions["v1"])
    app = create_app(ServeConfig(model_name=MODEL, log_url=f"sqlite:///{tmp_path / 'p.db'}",
                                 tracking_uri=registry.uri))
    with TestClient(app, base_url="http://127.0.0.1") as c:
        assert c.get("/ready").status_code == 200
        app.state.service.draining.set()
        r = c.get("/ready")
        assert r.status_code == 503 and r.json()["ready"] is False
        assert "draining" in r.json()["reason"]


def test_the_shutdown_signal_marks_the_service_draining_before_the_servers_handler() -> None:
    calls: list[bool] = []
    draining = threading.Event()
    original = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, lambda s, f: calls.append(draining.is_set()))
        _hook_shutdown_signals(draining)
        _hook_shutdown_signals(draining)  # hooked once only
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.time() + 5
        while not calls and time.time() < deadline:
            time.sleep(0.01)
        assert calls == [True]  # the server's handler ran once, with draining already set
    finally:
        signal.signal(signal.SIGTERM, original)
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.mark.integration  # starts steward serve processes
def test_a_version_failing_to_load_at_start_names_the_version_and_cause(
        start_server: ServerFactory, registry: Registry) -> None:
    broken = registry.versions["broken"]
    registry.set_alias(broken)
    try:
        server = start_server(wait=False)
        deadline = time.time() + 90
        reason = ""
        while time.time() < deadline:
            assert server.proc.poll() is None, server.stderr_path.read_text()
            try:
                r = httpx.get(f"{server.base}/ready", timeout=5)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            if r.status_code == 503 and "failed to load" in r.text:
                reason = r.json()["reason"]
                break
            time.sleep(0.2)
        assert f"version {broken} failed to load" in reason, reason
        assert "(" in reason and reason.rstrip().endswith(")")  # the cause, in brackets
        assert httpx.post(f"{server.base}/predict", json=[row()], timeout=5).status_code == 503
        err = server.stderr_path.read_text()
        assert f"version {broken} of {MODEL} failed to load" in err, err[-2000:]
    finally:
        registry.set_alias(registry.versions["v1"])
