"""Sinks: console, JSON Lines, webhook (JSON and Slack) that fails then recovers, MLflow."""

from __future__ import annotations

import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from modelsteward.errors import ConfigError
from modelsteward.monitor import ConsoleSink, JsonLinesSink, MlflowSink, WebhookSink, run_monitor
from modelsteward.monitor.sinks import parse_sink


class _Receiver:
    """A webhook receiver on 127.0.0.1 that answers 503 to the first ``fail`` requests."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.calls = 0
        self.bodies: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                outer.calls += 1
                if outer.calls <= outer.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.bodies.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return None

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[_Receiver] = []

    def make(fail: int = 0) -> _Receiver:
        r = _Receiver(fail)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def _events_frame(make_stream):
    return make_stream(weeks=8, shift={2: 0.7, 3: 0.7}, null_week=5, concept_from=7, seed=30)


def test_webhook_fails_then_recovers_without_losing_alerts(tmp_path, receiver, baseline,
                                                           make_stream) -> None:
    hook = receiver(fail=4)  # first round: 3 attempts fail; next round: 1 more fails
    jsonl = tmp_path / "alerts.jsonl"
    rep = run_monitor("m", _events_frame(make_stream), baseline=baseline,
                  sinks=[WebhookSink(hook.url), JsonLinesSink(jsonl)])
    sent = [n.title for n in rep.notifications]
    assert len(sent) >= 4
    assert [b["title"] for b in hook.bodies] == sent  # all delivered, in order, once
    assert rep.undelivered == ()
    failures = [f for f in rep.sink_failures if f["sink"].startswith("webhook")]
    assert failures and all(f["delivered_later"] for f in failures)
    assert failures[0]["attempts"] == 3 and "503" in failures[0]["error"]
    lines = [json.loads(x) for x in jsonl.read_text().splitlines()]
    assert [x["title"] for x in lines] == sent  # the other sink was never held up


def test_dead_webhook_never_stops_the_monitor(tmp_path, baseline, make_stream) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connection refused
    jsonl = tmp_path / "a.jsonl"
    rep = run_monitor("m", _events_frame(make_stream), baseline=baseline,
                  sinks=[WebhookSink(f"http://127.0.0.1:{port}/x", timeout=1.0),
                         JsonLinesSink(jsonl)])
    assert len(rep.notifications) >= 4
    assert len(rep.undelivered) == len(rep.notifications)  # kept, not lost
    assert rep.to_dict()["undelivered"][0]["title"] == rep.notifications[0].title
    assert len(jsonl.read_text().splitlines()) == len(rep.notifications)


def test_slack_body(receiver, baseline, make_stream) -> None:
    hook = receiver()
    rep = run_monitor("m", _events_frame(make_stream), baseline=baseline,
                  sinks=[parse_sink(f"slack:{hook.url}")])
    assert len(hook.bodies) == len(rep.notifications)
    body = hook.bodies[0]
    assert set(body) == {"text", "blocks"}
    assert body["blocks"][0]["type"] == "header"
    assert all(b["type"] in ("header", "section") for b in body["blocks"])
    assert rep.notifications[0].window_label in body["text"]


def test_console_sink_prints_one_block_per_notification(baseline, make_stream) -> None:
    out = io.StringIO()
    rep = run_monitor("m", _events_frame(make_stream), baseline=baseline, sinks=[ConsoleSink(out)])
    text = out.getvalue()
    assert text.count("[critical] m (unregistered) window") + text.count(
        "[info] m (unregistered) window") + text.count("[warning] m (unregistered) window") == len(
        rep.notifications)
    assert "What to do:" in text


def test_parse_sink_rejects_unknown_specs() -> None:
    with pytest.raises(ConfigError, match="jsonl:PATH"):
        parse_sink("email:ops@example.com")
    with pytest.raises(ConfigError, match="http"):
        parse_sink("webhook:ftp://x")


@pytest.mark.integration
def test_mlflow_sink_logs_step_metrics_on_a_monitoring_run(tmp_path, baseline,
                                                           make_stream) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    sink = MlflowSink("m", "3", tracking_uri=uri)
    rep = run_monitor("m", _events_frame(make_stream), baseline=baseline, model_version="3",
                  sinks=[sink])
    assert not [f for f in rep.sink_failures if f["sink"] == "mlflow"]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(sink.run_id)
    assert run.data.tags["modelsteward.model_name"] == "m"
    assert run.data.tags["modelsteward.model_version"] == "3"
    psi = client.get_metric_history(sink.run_id, "psi/f2")
    assert [m.step for m in sorted(psi, key=lambda m: m.step)] == list(range(8))
    by_step = {m.step: m.value for m in psi}
    assert by_step[2] > 0.2 > by_step[0]
    week0 = min(psi, key=lambda m: m.step)
    assert week0.timestamp == 1767571200000  # logged at the window start, 2026-01-05 UTC
    corr = {m.step: m.value for m in client.get_metric_history(sink.run_id,
                                                                "concept/correlation")}
    assert corr[7] < corr[0] - 0.1
    assert run.info.status == "FINISHED"
