"""The service as a hostile or careless client meets it (issue 9): secrets, poisoned
outcomes, cross-site writes, crash paths, duplicate outcomes, what /health shows."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from serve_harness import MODEL, ServerFactory, row

from modelsteward.store import PredictionLog

pytestmark = pytest.mark.integration

TOKEN = "bearer-T0ken-xyz"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(start_module_server: ServerFactory):  # type: ignore[no-untyped-def]
    return start_module_server(token=TOKEN)


def _predict_ids(server, n: int = 1) -> list[str]:  # type: ignore[no-untyped-def]
    with server.client() as c:
        r = c.post("/predict", json=[row(i) for i in range(n)])
    assert r.status_code == 200, r.text
    return list(r.json()["prediction_ids"])


def _outcomes(server, ids: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    log = PredictionLog(server.log_url)
    try:
        frame = log.read_frame(MODEL).set_index("prediction_id")
    finally:
        log.close()
    return [float(v) for v in frame.loc[ids, "outcome"]]


# --- item 1: secrets -------------------------------------------------------------------------
class _Recorder(http.server.BaseHTTPRequestHandler):
    """A tracking server that records each request and hangs up without answering."""

    seen: list[dict[str, Any]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        type(self).seen.append({"path": self.path, "headers": dict(self.headers)})
        self.close_connection = True  # no response: the client sees the connection drop

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_tracking() -> Iterator[tuple[int, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], seen
    httpd.shutdown()
    httpd.server_close()


def test_no_password_query_secret_or_token_reaches_a_response_or_the_log(
        start_server: ServerFactory, fake_tracking: tuple[int, list[dict[str, Any]]]) -> None:
    port, seen = fake_tracking
    uri = f"http://admin:hunter2@127.0.0.1:{port}/mlflow?token=qtok-777777&x=1"
    server = start_server(token=TOKEN, tracking_uri=uri, wait=False)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            ready = httpx.get(server.base + "/ready", headers=auth, timeout=5)
            if ready.status_code == 503 and "unreachable" in ready.text:
                break
        except httpx.HTTPError:
            pass
        assert server.proc.poll() is None, server.stderr_path.read_text()
        time.sleep(0.2)
    else:
        raise AssertionError("the service never reported the tracking server unreachable")
    assert seen, "the fake tracking server was never asked"
    answers = {
        "/health": httpx.get(server.base + "/health", timeout=5),
        "/status": httpx.get(server.base + "/status", headers=auth, timeout=5),
        "/ready": httpx.get(server.base + "/ready", headers=auth, timeout=5),
        "/predict": httpx.post(server.base + "/predict", json=[row()], headers=auth,
                               timeout=5),
    }
    assert answers["/health"].json() == {"status": "degraded"}
    assert answers["/predict"].status_code == 503
    status = answers["/status"].json()
    assert status["tracking"]["reachable"] is False and status["tracking"]["error"]
    assert "127.0.0.1" in status["tracking"]["uri"] and "***" in status["tracking"]["uri"]
    server.kill()
    log_text = server.stderr_path.read_text()
    assert "unreachable" in log_text  # the log line is there, masked
    for where, text in [*((k, v.text) for k, v in answers.items()), ("log", log_text)]:
        for secret in ("hunter2", "qtok-777777", TOKEN):
            assert secret not in text, (where, secret, text[:2000])


# --- item 2: non-finite outcomes -------------------------------------------------------------
@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e400", "-1e400",
                                     "1" + "0" * 400])
def test_non_finite_outcome_is_422_and_the_real_one_is_kept(server, literal: str) -> None:  # type: ignore[no-untyped-def]
    [pid] = _predict_ids(server)
    body = f'{{"prediction_id": "{pid}", "outcome": {literal}}}'
    with server.client() as c:
        r = c.post("/feedback", content=body, headers=JSON)
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "outcome"
        batch = f'{{"outcomes": {{"{pid}": {literal}}}}}'
        assert c.post("/feedback", content=batch, headers=JSON).status_code == 422
        ok = c.post("/feedback", json={"prediction_id": pid, "outcome": 1})
    assert ok.status_code == 200 and ok.json()["recorded"] == 1, ok.text
    assert _outcomes(server, [pid]) == [1.0]


# --- item 5: content type and Host -----------------------------------------------------------
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonp"])
def test_post_routes_require_json_content_type(server, content_type: str | None) -> None:  # type: ignore[no-untyped-def]
    [pid] = _predict_ids(server)
    log = PredictionLog(server.log_url)
    before = log.count()
    headers = {"content-type": content_type} if content_type else {}
    with server.client() as c:
        r = c.post("/predict", content=json.dumps([row()]), headers=headers)
        assert r.status_code == 415 and "application/json" in r.json()["error"], r.text
        fb = c.post("/feedback", content=json.dumps({"prediction_id": pid, "outcome": 1}),
                    headers=headers)
        assert fb.status_code == 415, fb.text
        ok = c.post("/predict", content=json.dumps([row()]),
                    headers={"content-type": "application/json; charset=utf-8"})
        assert ok.status_code == 200
    assert log.count() == before + 1
    log.close()
    assert _outcomes(server, [pid]) != [1.0]


def test_foreign_host_headers_are_refused(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as c:
        for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                     "10.0.0.5"):
            r = c.post("/predict", json=[row()], headers={"host": host})
            assert r.status_code == 400 and "Host" in r.json()["error"], (host, r.text)
            assert c.get("/health", headers={"host": host}).status_code == 400
        for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}",
                     f"[::1]:{server.port}", "LOCALHOST"):
            r = c.post("/predict", json=[row()], headers={"host": host})
            assert r.status_code == 200, (host, r.text)


# --- item 6: crash paths ---------------------------------------------------------------------
def test_deep_nesting_and_huge_numbers_are_4xx_with_one_log_line(server) -> None:  # type: ignore[no-untyped-def]
    [pid] = _predict_ids(server)
    huge = "1" + "0" * 400
    rec = json.dumps([row()])
    bodies = {
        "deep list": "[" * 5000 + "]" * 5000,
        "deep object": '{"a":' * 3000 + "1" + "}" * 3000,
        "deep feature": rec.replace('"age": 25.0', '"age": ' + "[" * 1500 + "]" * 1500),
        "huge double": rec.replace('"age": 25.0', f'"age": {huge}'),
        "huge long": rec.replace('"visits": 0', f'"visits": {huge}'),
        "huge column": json.dumps({"columns": {k: [v] for k, v in row().items()}})
        .replace("[25.0]", f"[{huge}]"),
        "long out of int64": rec.replace('"visits": 0', '"visits": 1e19'),
        "inf literal for a double": rec.replace('"age": 25.0', '"age": 1e309'),
    }
    with server.client() as c:
        for name, body in bodies.items():
            r = c.post("/predict", content=body, headers=JSON)
            assert r.status_code in (400, 422), (name, r.status_code, r.text[:300])
            assert "error" in r.json()
        for value in ("[" * 3000 + "]" * 3000, huge):
            body = f'{{"prediction_id": "{pid}", "outcome": {value}}}'
            r = c.post("/feedback", content=body, headers=JSON)
            assert r.status_code in (400, 422), r.text[:300]
        assert c.get("/health").json() == {"status": "ok"}
    text = server.stderr_path.read_text()
    assert "Traceback" not in text and "RecursionError" not in text, text[-3000:]
    assert "nested deeper" in text  # one line says what was refused


# --- item 8: one id twice in a batch ---------------------------------------------------------
def test_an_id_sent_twice_in_one_batch_keeps_the_first_value(server) -> None:  # type: ignore[no-untyped-def]
    a, b = _predict_ids(server, 2)
    with server.client() as c:
        r = c.post("/feedback", json=[{"prediction_id": a, "outcome": 1},
                                      {"prediction_id": b, "outcome": 0},
                                      {"prediction_id": a, "outcome": 0}])
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 3, "recorded": 2, "duplicates": 1, "repeated_ids": [a]}
    assert _outcomes(server, [a, b]) == [1.0, 0.0]


# --- item 14: /health, /status and the 404 ---------------------------------------------------
def test_health_is_status_only_and_details_need_the_token(server) -> None:  # type: ignore[no-untyped-def]
    r = httpx.get(server.base + "/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert httpx.get(server.base + "/status").status_code == 401
    with server.client() as c:
        status = c.get("/status").json()
    assert status["status"] == "ok" and status["model_name"] == MODEL
    assert status["version"] and status["tracking"]["uri"]
    assert status["prediction_log"]["url"] == server.log_url


def test_unknown_ids_404_lists_at_most_twenty(server) -> None:  # type: ignore[no-untyped-def]
    unknown = [f"{i:032x}" for i in range(500)]
    with server.client() as c:
        r = c.post("/feedback", json={"outcomes": {pid: 1 for pid in unknown}})
        assert r.status_code == 404
        body = r.json()
        assert body["unknown_ids"] == unknown[:20] and body["unknown_count"] == 500
        assert len(r.content) < 4000
        long_id = c.post("/feedback", json={"prediction_id": "x" * 100_000, "outcome": 1})
        assert long_id.status_code == 422 and len(long_id.content) < 1000
