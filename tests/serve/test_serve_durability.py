"""Durability: SIGKILL under load loses no acknowledged prediction; concurrent feedback;
the whole loop on PostgreSQL."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from serve_harness import MODEL, ServerFactory, row

from modelsteward.store import PredictionLog

pytestmark = pytest.mark.integration


def test_sigkill_under_load_loses_no_acknowledged_prediction(start_server: ServerFactory,
                                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    server = start_server(log_url=url)
    acked: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=server.base, timeout=10) as c:
            i = k
            while not stop.is_set():
                rows = [row(i)] if i % 3 else [row(i), row(i + 1), row(i + 2)]
                try:
                    r = c.post("/predict", json=rows)
                except httpx.HTTPError:
                    return  # the server died mid-request: this one was never acknowledged
                if r.status_code == 200:
                    with lock:
                        acked.extend(r.json()["prediction_ids"])
                else:
                    errors.append(r.text)
                i += 16

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while len(acked) < 300 and time.time() < deadline:
        time.sleep(0.05)
    server.kill(signal.SIGKILL)  # no shutdown hook runs
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(acked) >= 300

    restarted = start_server(log_url=url)
    with restarted.client() as c:
        assert c.post("/predict", json=[row()]).status_code == 200
    log = PredictionLog(url)
    logged = set(log.prediction_ids(MODEL))
    log.close()
    missing = set(acked) - logged
    print(f"acknowledged before SIGKILL: {len(acked)}, in the log: {len(logged)}, "
          f"missing: {len(missing)}")
    assert not missing
    assert len(logged) >= len(acked) + 1


def test_predict_and_feedback_on_postgresql_with_two_workers(start_server: ServerFactory,
                                                             serve_pg_url: str) -> None:
    # two uvicorn workers share one PostgreSQL log; each takes connections only after its
    # first load, so no request meets a worker that is still loading
    server = start_server(log_url=serve_pg_url, extra=["--workers", "2"], token="w-token")

    def predict(i: int) -> dict:  # type: ignore[type-arg]
        with server.client() as c:
            r = c.post("/predict", json=[row(i), row(i + 1)])
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

    with ThreadPoolExecutor(16) as pool:  # concurrent requests share commits
        answers = list(pool.map(predict, range(48)))
    ids = [pid for a in answers for pid in a["prediction_ids"]]
    assert len(set(ids)) == 96
    with server.client() as c:
        r = c.post("/feedback", json={"outcomes": {pid: 1 for pid in ids[:10]}})
        assert r.json()["recorded"] == 10
        assert c.post("/feedback", json={"prediction_id": "nope", "outcome": 1}) \
            .status_code == 404
    log = PredictionLog(serve_pg_url)
    frame = log.read_frame(MODEL)
    log.close()
    assert set(frame["prediction_id"]) == set(ids)
    assert frame["outcome"].notna().sum() == 10
    assert frame["visits"].dtype.kind == "i" and frame["plan"].isin(["a", "b", "c"]).all()
    assert (frame["model_version"] == "1").all()
    assert httpx.post(server.base + "/predict", json=[row()]).status_code == 401



def test_sigkill_during_1000_row_batches_loses_no_acknowledged_row(start_server: ServerFactory,
                                                                   tmp_path) -> None:  # type: ignore[no-untyped-def]
    # 1,000-row requests keep their features as one Arrow batch each (schema 2): every
    # acknowledged row must be in the log after SIGKILL, with its features readable
    url = f"sqlite:///{tmp_path / 'killed_batches.db'}"
    server = start_server(log_url=url)
    acked: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(k: int) -> None:
        with httpx.Client(base_url=server.base, timeout=30) as c:
            i = k * 1000
            while not stop.is_set():
                try:
                    r = c.post("/predict", json=[row(j) for j in range(i, i + 1000)])
                except httpx.HTTPError:
                    return  # the server died mid-request: never acknowledged
                if r.status_code == 200:
                    with lock:
                        acked.extend(r.json()["prediction_ids"])
                else:
                    errors.append(r.text[:300])
                i += 4000

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while len(acked) < 6000 and time.time() < deadline:
        time.sleep(0.05)
    server.kill(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(acked) >= 6000
    log = PredictionLog(url)
    frame = log.read_frame(MODEL)
    log.close()
    missing = set(acked) - set(frame["prediction_id"])
    assert not missing, f"{len(missing)} acknowledged rows lost"
    assert frame["age"].notna().all() and frame["plan"].isin(["a", "b", "c"]).all()
    assert frame["visits"].dtype.kind == "i"
    with __import__("sqlite3").connect(tmp_path / "killed_batches.db") as conn:
        assert conn.execute("SELECT count(*) FROM feature_batches").fetchone()[0] >= 6
