"""Issue 9: reports never carry secrets, and a tampered report.json gives a one-line error."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from modelsteward.baseline import Baseline
from modelsteward.cli import main
from modelsteward.monitor import run_monitor


class _LeakySink:
    """A sink whose errors quote a URL with a password and a token, as httpx/MLflow do."""

    name = "leaky"

    def send(self, notification) -> None:
        raise RuntimeError("cannot reach http://admin:hunter2@10.0.0.5/hook?token=abc123xyz")

    def on_window(self, window) -> None:
        return None

    def close(self, report) -> None:
        return None


def _run(tmp_path):
    rng = np.random.default_rng(0)
    base = Baseline.fit({"x": rng.normal(size=3000)})
    ts = pd.date_range("2026-01-05", periods=2100, freq="8min", tz="UTC")
    x = rng.normal(size=2100)
    x[1400:] += 2
    return run_monitor("m", pd.DataFrame({"timestamp": ts, "x": x}), baseline=base,
                   sinks=[_LeakySink()])


def test_no_secret_reaches_report_json_html_or_cli_json(tmp_path) -> None:
    rep = _run(tmp_path)
    assert rep.sink_failures and rep.undelivered
    paths = rep.write(tmp_path / "r")
    for text in (paths["json"].read_text(), paths["html"].read_text(), rep.to_json()):
        assert "hunter2" not in text and "abc123xyz" not in text
        assert "10.0.0.5" in text  # the host stays: the reader needs to know which one


def test_rerender_of_a_tampered_report_is_one_line(tmp_path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"kind": "modelsteward.monitor_report", "windows": [{}],
                                  "summary": {"windows": "<script>alert(1)</script>"}}))
    binary = tmp_path / "binary.json"
    binary.write_bytes(bytes(range(256)))
    for source in (deep, broken, binary):
        res = CliRunner().invoke(main, ["report", "--from", str(source), "--out",
                                        str(tmp_path / "out")])
        assert res.exit_code == 2, (source, res.output, res.exception)
        assert res.output.startswith("error: ") and res.output.count("\n") == 1
    ok = tmp_path / "ok.json"
    doc = json.loads(_run(tmp_path).to_json())
    doc["summary"]["windows"] = "<script>alert(1)</script>"
    doc["description"] = {"a": json.loads("[" * 30 + "]" * 30)}
    ok.write_text(json.dumps(doc))
    res = CliRunner().invoke(main, ["report", "--from", str(ok), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0, (res.output, res.exception)
    html = (tmp_path / "o2" / "report.html").read_text()
    assert "<script>alert(1)" not in html


def test_an_unwritable_report_directory_is_one_line(tmp_path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    rep = tmp_path / "r.json"
    rep.write_text(_run(tmp_path).to_json())
    res = CliRunner().invoke(main, ["report", "--from", str(rep), "--out", str(afile / "sub")])
    assert res.exit_code == 2, (res.output, res.exception)
    assert res.output.startswith("error: cannot write the report") and res.output.count("\n") == 1
