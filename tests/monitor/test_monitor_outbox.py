"""Issue 9 item 12: a webhook that is down or hangs. Undelivered notifications are kept in an
outbox on disk, retried first on the next run, counted in the summary and the exit status
(3); one deadline bounds all deliveries of a run; the webhook URL (a secret) is never shown."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from click.testing import CliRunner

from modelsteward.cli import main

SECRET = "T0000/B0000/hunter2secretpath"


class _Hook(HTTPServer):
    allow_reuse_address = True


def _serve(port: int) -> tuple[_Hook, list[dict]]:
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = _Hook(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, bodies


def _setup(tmp_path, baseline, make_stream):
    bdir = tmp_path / "baseline"
    baseline.save(bdir)
    data = tmp_path / "prod.csv"
    make_stream(weeks=4, shift={2: 0.7, 3: 0.7}, null_week=3, seed=50).to_csv(data, index=False)
    # the JSON Lines outbox of a replay that remembers nothing (the state store's outbox:
    # test_monitor_state.py)
    return ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--state", "none"]


def test_down_webhook_outbox_on_disk_retried_next_run(tmp_path, baseline, make_stream) -> None:
    args = _setup(tmp_path, baseline, make_stream)
    outbox = tmp_path / "state" / "outbox.jsonl"
    # a bound socket that does not listen: the port is ours, connections are refused
    hold = socket.socket()
    hold.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hold.bind(("127.0.0.1", 0))
    port = hold.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{SECRET}"
    run = [*args, "--sink", f"webhook:{url}", "--outbox", str(outbox), "--sink-deadline", "20"]
    res = CliRunner().invoke(main, run)
    hold.close()
    assert res.exit_code == 3, (res.output, res.exception)
    assert "2 notifications not delivered" in res.output
    assert str(outbox) in res.output
    assert SECRET not in res.output and "hunter2" not in res.output
    lines = [json.loads(x) for x in outbox.read_text().splitlines()]
    assert [e["notification"]["window_label"] for e in lines] == ["2026-W04", "2026-W05"]
    assert SECRET not in outbox.read_text()
    assert outbox.stat().st_mode & 0o077 == 0
    as_json = CliRunner().invoke(main, [*run, "--json"])
    assert as_json.exit_code == 3
    doc = json.loads(as_json.output)
    assert doc["summary"]["undelivered"] == 4  # 2 kept from the first run + 2 new
    assert SECRET not in as_json.output

    server, bodies = _serve(port)  # the webhook is back
    try:
        res = CliRunner().invoke(main, run)
    finally:
        server.shutdown()
        server.server_close()
    assert res.exit_code == 0, res.output
    assert "4 notification(s) of earlier runs delivered from the outbox" in res.output
    # the kept ones first, in order, then this run's
    assert [b["window_label"] for b in bodies] == ["2026-W04", "2026-W05"] * 3
    assert not outbox.exists()


def test_hanging_webhook_costs_one_deadline_not_a_timeout_per_message(
        tmp_path, baseline, make_stream) -> None:
    args = _setup(tmp_path, baseline, make_stream)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:  # accepts every connection and never answers
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    threading.Thread(target=accept, daemon=True).start()
    outbox = tmp_path / "outbox.jsonl"
    try:
        res = CliRunner().invoke(main, [*args, "--sink", f"slack:http://127.0.0.1:{port}/{SECRET}",
                                        "--outbox", str(outbox), "--sink-deadline", "1.5"])
    finally:
        stop.set()
        for c in accepted:
            c.close()
        listener.close()
    assert res.exit_code == 3, (res.output, res.exception)
    assert "2 notifications not delivered" in res.output
    assert "deadline of 1.5s" in res.output
    # one attempt hung until the run's deadline; nothing else was tried after it
    assert len(accepted) == 1
    assert len(outbox.read_text().splitlines()) == 2
    assert SECRET not in res.output


def test_sink_deadline_is_validated_and_documented(tmp_path, baseline, make_stream) -> None:
    args = _setup(tmp_path, baseline, make_stream)
    for bad in ("0", "-1", "nan", "inf"):
        res = CliRunner().invoke(main, [*args, "--sink-deadline", bad])
        assert res.exit_code == 2 and "--sink-deadline" in res.output, (bad, res.output)
    help_text = CliRunner().invoke(main, ["monitor", "--help"]).output
    assert "--sink-deadline" in help_text and "--outbox" in help_text
    assert "3 some notifications were not delivered" in help_text


def test_bad_sink_spec_error_does_not_print_the_url(tmp_path, baseline, make_stream) -> None:
    args = _setup(tmp_path, baseline, make_stream)
    for spec in (f"webhok:https://hooks.slack.com/services/{SECRET}",
                 f"webhook:ftp://hooks.example.com/{SECRET}"):
        res = CliRunner().invoke(main, [*args, "--sink", spec])
        assert res.exit_code == 2, res.output
        assert SECRET not in res.output and res.output.startswith("error: ")


def test_report_with_a_down_sink_writes_and_exits_3(tmp_path, baseline, make_stream) -> None:
    args = _setup(tmp_path, baseline, make_stream)[1:-2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outbox = tmp_path / "outbox.jsonl"
    res = CliRunner().invoke(main, ["report", *args, "--out", str(tmp_path / "r"), "--sink",
                                    f"webhook:http://127.0.0.1:{port}/{SECRET}",
                                    "--outbox", str(outbox), "--sink-deadline", "20"])
    assert res.exit_code == 3, (res.output, res.exception)
    assert (tmp_path / "r" / "report.html").exists()
    assert "2 notifications not delivered" in res.output
    assert len(outbox.read_text().splitlines()) == 2
    html = (tmp_path / "r" / "report.html").read_text()
    assert "2 notification(s) not delivered" in html and SECRET not in html
