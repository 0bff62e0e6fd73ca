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


def test_concurrent_feedback(start_server: ServerFactory) -> None:
    server = start_server()
    with server.client() as c:
        ids = []
        for b in range(4):
            r = c.post("/predict", json=[row(b * 50 + i) for i in range(50)])
            ids += r.json()["prediction_ids"]
    outcome = {pid: float(i % 2) for i, pid in enumerate(ids)}
    # 8 clients; every id is sent by two of them; singles and batches mixed
    jobs = []
    for k in range(8):
        mine = ids[(k % 4) * 50:(k % 4 + 1) * 50]
        if k < 4:
            jobs += [{"prediction_id": pid, "outcome": outcome[pid]} for pid in mine[:10]]
            jobs.append({"outcomes": {pid: outcome[pid] for pid in mine[10:]}})
        else:
            jobs.append([{"prediction_id": pid, "outcome": outcome[pid]} for pid in mine])

    def send(body: object) -> httpx.Response:
        with server.client() as c:
            return c.post("/feedback", json=body)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, jobs))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses][:3]
    assert sum(r.json()["recorded"] for r in responses) == 200
    assert sum(r.json()["duplicates"] for r in responses) == 200
    log = PredictionLog(server.log_url)
    frame = log.read_frame(MODEL).set_index("prediction_id").loc[ids]
    log.close()
    assert frame["outcome"].tolist() == [outcome[pid] for pid in ids]


def test_predict_and_feedback_on_postgresql(start_server: ServerFactory,
                                            serve_pg_url: str) -> None:
    server = start_server(log_url=serve_pg_url)

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


def test_two_workers_share_one_log(start_server: ServerFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    server = start_server(log_url=url, extra=["--workers", "2"], token="w-token")
    # a worker takes connections only after its first load: no 503 on any connection
    def predict(i: int) -> list[str]:
        with server.client() as c:
            r = c.post("/predict", json=[row(i)])
            assert r.status_code == 200, r.text
            return r.json()["prediction_ids"]  # type: ignore[no-any-return]

    with ThreadPoolExecutor(16) as pool:
        ids = [pid for got in pool.map(predict, range(64)) for pid in got]
    assert httpx.post(server.base + "/predict", json=[row()]).status_code == 401
    log = PredictionLog(url)
    assert set(ids) <= set(log.prediction_ids(MODEL)) and len(set(ids)) == 64
    log.close()
