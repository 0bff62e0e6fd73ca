"""steward monitor / steward report on files, with a saved baseline."""

from __future__ import annotations

import json

from click.testing import CliRunner

from modelsteward.cli import main


def _setup(tmp_path, baseline, make_stream):
    bdir = tmp_path / "baseline"
    baseline.save(bdir)
    data = tmp_path / "prod.csv"
    make_stream(weeks=4, shift={2: 0.7, 3: 0.7}, null_week=3, seed=50).to_csv(data, index=False)
    return bdir, data


def test_monitor_json_and_fail_on(tmp_path, baseline, make_stream) -> None:
    bdir, data = _setup(tmp_path, baseline, make_stream)
    runner = CliRunner()
    # a replay that remembers nothing (incremental runs: test_monitor_state.py)
    res = runner.invoke(main, ["monitor", "--model", "churn", "--baseline", str(bdir),
                               "--data", str(data), "--json", "--state", "none"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["summary"]["windows"] == 4
    assert [n["window_label"] for n in out["notifications"]] == ["2026-W04", "2026-W05"]
    res = runner.invoke(main, ["monitor", "--model", "churn", "--baseline", str(bdir),
                               "--data", str(data), "--fail-on", "critical", "--state", "none",
                               "--sink", f"jsonl:{tmp_path / 'a.jsonl'}"])
    assert res.exit_code == 1
    assert "Alert timeline" in res.output and "2026-W04" in res.output
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 2


def test_monitor_errors_are_one_line_exit_2(tmp_path, baseline, make_stream) -> None:
    bdir, data = _setup(tmp_path, baseline, make_stream)
    res = CliRunner().invoke(main, ["monitor", "--model", "churn", "--baseline", str(bdir),
                                    "--data", str(data), "--policy", "paranoid"])
    assert res.exit_code == 2
    assert res.output.startswith("error: unknown policy 'paranoid'")
    assert res.output.count("\n") == 1
    res = CliRunner().invoke(main, ["monitor", "--model", "churn", "--baseline", str(bdir),
                                    "--data", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_report_writes_and_rerenders(tmp_path, baseline, make_stream) -> None:
    bdir, data = _setup(tmp_path, baseline, make_stream)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["report", "--model", "churn", "--baseline", str(bdir),
                                    "--data", str(data), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    paths = json.loads(res.output)
    html = (out / "report.html").read_text()
    assert paths["html"].endswith("report.html") and "Features, worst first" in html
    again = tmp_path / "again"
    res = CliRunner().invoke(main, ["report", "--from", str(out / "report.json"),
                                    "--out", str(again)])
    assert res.exit_code == 0, res.output
    assert (again / "report.html").read_text() == html
    res = CliRunner().invoke(main, ["report", "--from", str(data), "--out", str(again)])
    assert res.exit_code == 2 and "not JSON" in res.output


def test_demo_and_calibrate_are_wired() -> None:
    for name in ("demo", "calibrate", "monitor", "report"):
        res = CliRunner().invoke(main, [name, "--help"])
        assert res.exit_code == 0, res.output
        assert "Example" in res.output or "example" in res.output.lower()
    assert "--workdir" in CliRunner().invoke(main, ["demo", "--help"]).output
