"""Options no other test passed (issue 14): each must reach the function it configures.

The heavy work behind ``monitor``, ``calibrate``, ``serve``, ``demo`` and ``registry`` is
replaced by a recorder, so these tests check the wiring from the command line to the call; what
the called function does with the value is tested with that function.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from modelsteward.cli import main


class _Recorder:
    """Stands in for a library function: records its arguments, returns ``result``."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.args: tuple[Any, ...] = ()
        self.kwargs: dict[str, Any] = {}

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.args, self.kwargs = args, kwargs
        return self.result


class _FakeReport:
    def __init__(self) -> None:
        self.written_to: str | None = None

    def write(self, out_dir: str) -> dict[str, Path]:
        self.written_to = out_dir
        return {"json": Path(out_dir) / "report.json", "html": Path(out_dir) / "report.html"}

    def to_dict(self) -> dict[str, Any]:
        return {"fake": True}


def test_version_option() -> None:
    from importlib.metadata import version

    res = CliRunner().invoke(main, ["--version"])
    assert res.exit_code == 0 and version("modelsteward") in res.output, res.output


def test_baseline_fit_bins_option(tmp_path: Path) -> None:
    from modelsteward.baseline import Baseline

    data = tmp_path / "train.csv"
    pd.DataFrame({"x": np.random.default_rng(3).normal(size=600)}).to_csv(data, index=False)
    counts = {}
    for bins in ("5", "12"):
        res = CliRunner().invoke(main, ["baseline", "fit", str(data), str(tmp_path / bins),
                                        "--bins", bins])
        assert res.exit_code == 0, res.output
        counts[bins] = len(Baseline.load(tmp_path / bins).columns["x"].psi_reference_counts)
    assert counts == {"5": 5, "12": 12}


def test_baseline_fit_joint_and_sample_size(tmp_path: Path) -> None:
    from modelsteward.baseline import Baseline

    rng = np.random.default_rng(4)
    x = rng.normal(size=800)
    data = tmp_path / "train.csv"
    pd.DataFrame({"x": x, "y": x + rng.normal(size=800) * 0.2,
                  "c": rng.choice(["a", "b"], 800)}).to_csv(data, index=False)
    runner = CliRunner()
    res = runner.invoke(main, ["baseline", "fit", str(data), str(tmp_path / "j"), "--joint",
                               "--sample-size", "300"])
    assert res.exit_code == 0, res.output
    joint = Baseline.load(tmp_path / "j").joint
    assert joint is not None and joint.sample.shape == (300, 3)
    shown = runner.invoke(main, ["baseline", "show", str(tmp_path / "j")])
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.output.split())
    assert f"{joint.n_components} components" in text and "sample of 300 rows" in text
    assert f"{float(joint.explained_variance_ratio.sum()):.1%}" in text
    as_json = runner.invoke(main, ["baseline", "show", str(tmp_path / "j"), "--json"])
    assert json.loads(as_json.output)["joint"]["n_components"] == joint.n_components
    res = runner.invoke(main, ["baseline", "fit", str(data), str(tmp_path / "p")])
    assert res.exit_code == 0 and Baseline.load(tmp_path / "p").joint is None
    res = runner.invoke(main, ["baseline", "fit", str(data), str(tmp_path / "q"),
                               "--sample-size", "300"])
    assert res.exit_code == 2 and "--joint" in res.output


def _invoke_data_command(command: str, args: list[str], tmp_path: Path,
                         monkeypatch: pytest.MonkeyPatch) -> _Recorder:
    """Run monitor/report/calibrate with the library call replaced by a recorder."""
    if command == "calibrate":
        import modelsteward.monitor.calibrate as cal

        rec = _Recorder(cal.CalibrationResult((), None, ("2026-W02",), "preset default"))
        monkeypatch.setattr(cal, "calibrate", rec)
        inc = tmp_path / "inc.csv"
        inc.write_text("window,feature\n2026-W02,f1\n")
        extra = ["--incidents", str(inc), "--out", str(tmp_path / "p.toml"), "--json"]
    else:
        import modelsteward.monitor as mon

        rec = _Recorder(_FakeReport())
        monkeypatch.setattr(mon, "run_monitor", rec)
        extra = ["--json"] + (["--out", str(tmp_path / "out")] if command == "report" else [])
    has_source = any(a in ("--data", "--log") for a in args)
    source = [] if has_source else ["--data", str(tmp_path / "history.parquet")]
    res = CliRunner().invoke(main, [command, "--model", "m", *source, *args, *extra])
    assert res.exit_code == 0, res.output
    return rec


@pytest.mark.parametrize("command", ["monitor", "report", "calibrate"])
@pytest.mark.parametrize("args, key, expected", [
    (["--stage", "staging"], "stage", "staging"),
    (["--version", "3"], "model_version", "3"),
    (["--window", "1D"], "window", "1D"),
    (["--window", "5000"], "window", 5000),
    (["--policy", "strict"], "policy", "strict"),
    (["--timestamp-column", "ts"], "timestamp_column", "ts"),
    (["--prediction-column", "score"], "prediction_column", "score"),
    (["--outcome-column", "label"], "outcome_column", "label"),
    (["--since", "2026-01-12"], "since", "2026-01-12"),
    (["--until", "2026-03-01"], "until", "2026-03-01"),
    (["--tz", "Europe/Berlin"], "tz", "Europe/Berlin"),
    (["--tracking-uri", "sqlite:///elsewhere.db"], "tracking_uri", "sqlite:///elsewhere.db"),
    (["--log", "LOG"], "data", "LOG"),
    (["--data", "a.parquet"], "data", "a.parquet"),
])
def test_data_options_reach_the_call(command: str, args: list[str], key: str, expected: Any,
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if "LOG" in args:  # an existing SQLite prediction log
        from modelsteward.store import PredictionLog

        url = f"sqlite:///{tmp_path / 'predictions.db'}"
        PredictionLog(url).close()
        args, expected = [url if a == "LOG" else a for a in args], url
    rec = _invoke_data_command(command, args, tmp_path, monkeypatch)
    if command == "calibrate" and key == "policy":
        key = "start"  # calibrate's grid starts from --policy
    got = rec.args[1] if key == "data" else rec.kwargs[key]
    assert got == expected


def test_calibrate_log_default_is_the_embedded_log(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from modelsteward.store.prediction_log import default_log_url

    monkeypatch.chdir(tmp_path)
    with pytest.raises(AssertionError, match="does not exist"):
        _invoke_data_command("calibrate", ["--log", "default"], tmp_path, monkeypatch)
    (tmp_path / ".steward").mkdir()
    (tmp_path / ".steward" / "predictions.db").touch()
    rec = _invoke_data_command("calibrate", ["--log", "default"], tmp_path, monkeypatch)
    assert rec.args[1] == default_log_url(tmp_path)


def test_monitor_report_dir_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _invoke_data_command("monitor", ["--report-dir", str(tmp_path / "rep")], tmp_path,
                               monkeypatch)
    assert rec.result.written_to == str(tmp_path / "rep")


@pytest.mark.parametrize("command", ["monitor", "report"])
def test_sink_option_reaches_monitor(command: str, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _invoke_data_command(command, ["--sink", "jsonl:a.jsonl", "--sink", "console"],
                               tmp_path, monkeypatch)
    assert rec.kwargs["sinks"] == ["jsonl:a.jsonl", "console"]


def test_calibrate_lookback_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = _invoke_data_command("calibrate", ["--lookback", "2"], tmp_path, monkeypatch)
    assert rec.kwargs["lookback"] == 2


@pytest.mark.parametrize("args, where, key, expected", [
    (["--model", "other"], "config", "model_name", "other"),
    (["--stage", "staging"], "config", "stage", "staging"),
    (["--log", "LOG"], "config", "log_url", "LOG"),
    (["--host", "127.0.0.2"], "call", "host", "127.0.0.2"),
    (["--port", "8123"], "call", "port", 8123),
    (["--workers", "3"], "call", "workers", 3),
    (["--token", "t-123"], "config", "token", "t-123"),
    (["--tracking-uri", "sqlite:///reg.db"], "config", "tracking_uri", "sqlite:///reg.db"),
    (["--poll-interval", "0.5"], "config", "poll_interval", 0.5),
    (["--max-body-mb", "0.5"], "config", "max_body_bytes", 512 * 1024),
    (["--log-level", "debug"], "call", "log_level", "debug"),
])
def test_serve_options_reach_the_server(args: list[str], where: str, key: str, expected: Any,
                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelsteward.serve.runner as runner

    rec = _Recorder(None)
    monkeypatch.setattr(runner, "run", rec)
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    if "LOG" in args:
        url = f"sqlite:///{tmp_path / 'other.db'}"
        args, expected = [url if a == "LOG" else a for a in args], url
    base = ["serve", "--model", "m", "--log", url, "--token", "base-token"]
    res = CliRunner().invoke(main, [*base, *args])
    assert res.exit_code == 0, res.output
    config = rec.args[0]
    got = getattr(config, key) if where == "config" else rec.kwargs[key]
    assert got == expected


def test_serve_allow_unverified_reaches_workers(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag sets the environment the uvicorn workers inherit; without it nothing is set."""
    import modelsteward.serve.runner as runner
    from modelsteward.registry.integrity import ALLOW_UNVERIFIED_ENV

    monkeypatch.setattr(runner, "run", _Recorder(None))
    monkeypatch.delenv(ALLOW_UNVERIFIED_ENV, raising=False)
    base = ["serve", "--model", "m", "--log", f"sqlite:///{tmp_path / 'p.db'}", "--token", "t-1"]
    assert CliRunner().invoke(main, base).exit_code == 0
    assert ALLOW_UNVERIFIED_ENV not in os.environ
    res = CliRunner().invoke(main, [*base, "--allow-unverified"])
    assert res.exit_code == 0, res.output
    assert os.environ[ALLOW_UNVERIFIED_ENV] == "1"
    monkeypatch.delenv(ALLOW_UNVERIFIED_ENV)


def test_demo_options_reach_run_demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelsteward.examples.demo as demo

    report = SimpleNamespace(model_version="2", timeline=lambda: [("2026-W07", "1 new")])
    result = demo.DemoResult(tmp_path / "w", "sqlite:///m.db", "sqlite:///p.db",
                             {"v1": "1", "v2": "2"}, report,
                             {"html": tmp_path / "r.html", "json": tmp_path / "r.json"}, "1",
                             1.0, {"data_drift": 6, "degradation": 8, "concept_drift": 10})
    calls: list[tuple[Any, int]] = []

    def fake_run_demo(workdir: Any, *, seed: int, **_: Any) -> Any:
        calls.append((workdir, seed))
        return result

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    res = CliRunner().invoke(main, ["demo", "--workdir", str(tmp_path / "w"), "--seed", "7",
                                    "--json"])
    assert res.exit_code == 0, res.output
    assert calls == [(str(tmp_path / "w"), 7)]
    summary = json.loads(res.output[res.output.index("{\n"):])
    assert summary["workdir"] == str(tmp_path / "w") and summary["production_after"] == "1"


@pytest.mark.parametrize("args, function, key, expected", [
    (["show", "churn", "--stage", "staging"], "describe", "args", ("churn", "staging")),
    (["show", "churn", "--version", "3"], "describe", "version", "3"),
    (["history", "churn", "--version", "2"], "history", "version", "2"),
    (["rollback", "churn", "--reason", "alert", "--json"], "rollback", "reason", "alert"),
])
def test_registry_options_reach_the_registry(args: list[str], function: str, key: str,
                                             expected: Any, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import modelsteward.registry as registry

    move = SimpleNamespace(to_dict=lambda: {"version": "1", "to_stage": "Production"},
                           version="1", from_stage="Archived", to_stage="Production")
    described = SimpleNamespace(to_dict=lambda: {"version": "3"})
    rec = _Recorder(described if function == "describe" else [move])
    monkeypatch.setattr(registry, function, rec)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    json_flag = [] if "--json" in args else ["--json"]
    res = CliRunner().invoke(main, ["registry", "--tracking-uri", uri, *args, *json_flag])
    assert res.exit_code == 0, res.output
    got = rec.args if key == "args" else rec.kwargs[key]
    assert got == expected
    assert rec.kwargs["tracking_uri"] == uri
    assert isinstance(json.loads(res.output), (list, dict))  # --json prints JSON
