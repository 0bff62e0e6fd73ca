"""Several `steward serve` processes (as on several hosts) sharing one registry and one log
database switch versions together through a version row in that database (issue 13 item 4).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from serve_harness import MODEL, Registry, Server, ServerFactory, row, until

from modelsteward.store import PredictionLog


def _status(server: Server) -> dict[str, object]:
    return dict(httpx.get(f"{server.base}/status", headers=server.headers(), timeout=10).json())


def test_version_row_in_the_log(tmp_path: Path) -> None:
    log = PredictionLog(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        assert log.announced_version("m", "production") is None
        log.announce_version("m", "production", "2")
        first = log.announced_version("m", "production")
        assert first is not None and first[0] == "2"
        log.announce_version("m", "production", "3")
        log.announce_version("m", "staging", "1")
        second = log.announced_version("m", "production")
        assert second is not None and second[0] == "3" and second[1] >= first[1]
        staging = log.announced_version("m", "staging")
        assert staging is not None and staging[0] == "1"
    finally:
        log.close()


@pytest.mark.integration  # starts steward serve processes
def test_two_processes_sharing_a_log_switch_together_under_load(
        start_server: ServerFactory, registry: Registry) -> None:
    """B polls the registry only every 10 minutes: it switches because A recorded the new
    version in the shared log database. No prediction logged after both switched carries
    the old version."""
    v1, v2 = registry.versions["v1"], registry.versions["v2"]
    registry.set_alias(v1)
    a = start_server()  # polls every 0.25 s
    b = start_server(extra=["--poll-interval", "600"])  # no file hint shared with A
    assert a.log_url == b.log_url
    stop = threading.Event()
    ok = {a.port: 0, b.port: 0}
    failures: list[str] = []
    lock = threading.Lock()

    def traffic(server: Server, k: int) -> None:
        with server.client() as c:
            i = k
            while not stop.is_set():
                r = c.post("/predict", json=[row(i), row(i + 1)])
                with lock:
                    if r.status_code == 200:
                        ok[server.port] += 1
                    else:
                        failures.append(f"{r.status_code}: {r.text[:200]}")
                i += 3

    started = time.time()
    threads = [threading.Thread(target=traffic, args=(s, k)) for s in (a, b) for k in range(2)]
    for t in threads:
        t.start()
    try:
        until(lambda: min(ok.values()) > 20, what="traffic on v1")
        registry.set_alias(v2)

        def both_switched() -> bool:
            return all(_status(s)["model_version"] == v2 and _status(s)["draining_version"]
                       is None for s in (a, b))

        until(both_switched, timeout=120, what="both processes on v2")
        switch_done = max(float(_status(s)["switched_at"]) for s in (a, b))  # type: ignore[arg-type]
        at_switch = dict(ok)
        until(lambda: all(ok[p] > at_switch[p] + 20 for p in ok), what="traffic after")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        registry.set_alias(v1)
    assert not failures, failures[:5]
    plog = PredictionLog(a.log_url)
    frame = plog.read_frame(MODEL, since=started)
    plog.close()
    seconds = frame["timestamp"].map(lambda t: t.timestamp())
    after = frame[seconds > switch_done]
    assert set(frame["model_version"]) == {v1, v2}
    assert len(after) >= 2 * 40 and set(after["model_version"]) == {v2}, \
        after["model_version"].value_counts()
    assert len(frame) == 2 * sum(ok.values())  # every acknowledged prediction is logged
