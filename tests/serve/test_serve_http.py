"""End to end over HTTP on SQLite: predict, feedback, health, metrics, validation, token."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from serve_harness import MODEL, Registry, ServerFactory, row

from modelsteward.store import PredictionLog

pytestmark = pytest.mark.integration

TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def server(start_module_server: ServerFactory):  # type: ignore[no-untyped-def]
    return start_module_server(token=TOKEN, extra=["--max-body-mb", "0.25"])


def test_predict_and_feedback_end_to_end(server, registry: Registry) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        r = c.post("/predict", json=[row(0), row(1), row(2)])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["model_name"] == MODEL and body["model_version"] == registry.versions["v1"]
        assert body["predictions"] == [0, 1, 0]  # v1: age > 40
        ids = body["prediction_ids"]
        assert len(set(ids)) == 3
        cols = {k: [row(i)[k] for i in range(4)] for k in row(0)}
        r2 = c.post("/predict", json={"columns": cols})
        assert r2.status_code == 200 and r2.json()["predictions"] == [0, 1, 0, 1]
        r3 = c.post("/predict", json={"records": [row(5)]})
        assert r3.status_code == 200 and len(r3.json()["prediction_ids"]) == 1

        fb = c.post("/feedback", json={"prediction_id": ids[0], "outcome": 1})
        assert fb.json() == {"received": 1, "recorded": 1, "duplicates": 0, "repeated_ids": []}
        fb = c.post("/feedback", json={"outcomes": {ids[0]: 1, ids[1]: 0, ids[2]: 1}})
        assert fb.status_code == 200 and fb.json()["recorded"] == 2
        assert fb.json()["duplicates"] == 1
        bad = c.post("/feedback", json=[{"prediction_id": ids[1], "outcome": 1},
                                        {"prediction_id": "ffff-unknown", "outcome": 0}])
        assert bad.status_code == 404 and bad.json()["unknown_ids"] == ["ffff-unknown"]
        assert c.post("/feedback", json={"prediction_id": ids[1], "outcome": "yes"}) \
            .status_code == 422

    log = PredictionLog(server.log_url)
    frame = log.read_frame(MODEL)
    log.close()
    assert set(ids) <= set(frame["prediction_id"])
    assert list(frame.columns[4:8]) == ["age", "income", "visits", "plan"]
    first = frame.set_index("prediction_id").loc[ids]
    assert first["age"].tolist() == [25.0, 65.0, 25.0]
    assert first["plan"].tolist() == ["a", "b", "c"]
    assert first["outcome"].tolist() == [1.0, 0.0, 1.0]
    assert first["prediction"].tolist() == [0, 1, 0]


def test_health_ready_metrics(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        c.post("/predict", json=[row(1)])
        health = c.get("/status").json()
        assert health["status"] == "ok" and health["tracking"]["reachable"] is True
        assert health["model_version"] == "1"
        assert c.get("/ready").json()["ready"] is True
        text = c.get("/metrics").text
    assert 'steward_requests_total{route="/predict",status="200"}' in text
    assert 'steward_request_duration_seconds_bucket{route="/predict",le="+Inf"}' in text
    assert f'steward_model_info{{model="{MODEL}",version="1"}} 1' in text
    assert "steward_prediction_log_backlog 0" in text


@pytest.mark.parametrize(
    ("payload", "field", "expected"),
    [
        ([{"income": 1.0, "visits": 1, "plan": "a"}], "age", "double"),  # missing
        ([{**row(), "zip": "12345"}], "zip", None),  # extra
        ([{**row(), "age": "forty"}], "age", "double"),  # wrong type
        ([{**row(), "visits": 2.5}], "visits", "long"),
        ([{**row(), "plan": 3}], "plan", "string"),
        ([{**row(), "age": True}], "age", "double"),
        ([{**row(), "age": None}], "age", "double"),
        ({"columns": {**{k: [v] for k, v in row().items()}, "age": ["x"]}}, "age", "double"),
    ],
)
def test_bad_rows_get_422_naming_field_and_type(server, payload, field, expected) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        r = c.post("/predict", json=payload)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == field and body["expected"] == expected
    assert repr(field) in body["error"]


def test_malformed_bodies(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        for raw in (b'[{"age": 41,', b"", b"\xff\xfe", b"not json"):
            r = c.post("/predict", content=raw, headers={"content-type": "application/json"})
            assert r.status_code == 400, (raw, r.text)
        assert c.post("/predict", json={"rows": [row()]}).status_code == 422
        assert c.post("/predict", json=[]).status_code == 422
        assert c.post("/predict", json=42).status_code == 422
        assert c.post("/feedback", content=b"{",
                      headers={"content-type": "application/json"}).status_code == 400


def test_oversized_body_is_413_without_reading_it(server) -> None:  # type: ignore[no-untyped-def]
    big = json.dumps([row(i) for i in range(5000)]).encode()  # ~400 KB > 0.25 MiB
    with server.client() as c:
        assert c.post("/predict", content=big,
                      headers={"content-type": "application/json"}).status_code == 413

        def chunks():  # no Content-Length: the limit applies while streaming
            for i in range(0, len(big), 65536):
                yield big[i:i + 65536]

        assert c.post("/predict", content=chunks(),
                      headers={"content-type": "application/json"}).status_code == 413
        assert c.post("/predict", json=[row()]).status_code == 200  # still serving


def test_token_required_everywhere_but_health(server) -> None:  # type: ignore[no-untyped-def]
    import httpx

    base = server.base
    for path in ("/ready", "/metrics"):
        assert httpx.get(base + path).status_code == 401
    assert httpx.post(base + "/predict", json=[row()]).status_code == 401
    assert httpx.post(base + "/feedback", json={"prediction_id": "x", "outcome": 1}) \
        .status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert httpx.post(base + "/predict", json=[row()], headers=wrong).status_code == 401
    assert httpx.post(base + "/predict", json=[row()],
                      headers={"Authorization": TOKEN}).status_code == 401  # no scheme
    r = httpx.get(base + "/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.headers.get("www-authenticate") is None


def test_no_route_takes_a_model_path(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        r = c.post("/predict", json={"model_uri": "/etc/passwd", "records": [row()]})
        assert r.status_code == 422
        assert c.post("/predict?model=/tmp/x", json=[row()]).json()["model_version"] == "1"
        assert c.get("/load?path=/tmp").status_code == 404


def test_concurrent_feedback(server) -> None:  # type: ignore[no-untyped-def]
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
