"""Calibration: replay, score candidates, recommend the quietest that catches everything."""

from __future__ import annotations

import pytest

from modelsteward.errors import ConfigError
from modelsteward.monitor import load_policy
from modelsteward.monitor.calibrate import Incident, calibrate, read_incidents


def test_recommends_loosest_policy_that_catches_every_incident(tmp_path, baseline,
                                                                make_stream) -> None:
    # drift of f2 grows from week 3; a human noticed it in week 6 (index 5)
    frame = make_stream(weeks=7, shift={2: 0.2, 3: 0.3, 4: 0.45, 5: 0.6, 6: 0.6},
                        null_week=4, seed=60)
    labels = ["2026-W02", "2026-W03", "2026-W04", "2026-W05", "2026-W06", "2026-W07",
              "2026-W08"]
    incidents = [Incident.parse(labels[5], "f2"), Incident.parse(labels[4], "f3")]
    cands = {n: load_policy(n) for n in ("lenient", "default", "strict")}
    cands["psi_warning=0.6"] = load_policy({"psi_warning": 0.6, "psi_critical": 1.2})
    res = calibrate("m", frame, incidents, candidates=cands, baseline=baseline)
    by = {c.name: c for c in res.candidates}
    assert not by["psi_warning=0.6"].catches_all  # too loose: misses the drift
    assert by["strict"].alerts_sent >= by["default"].alerts_sent >= by["lenient"].alerts_sent
    assert res.recommended is not None and res.recommended.catches_all
    assert res.recommended.name == min(
        (c for c in res.candidates if c.catches_all), key=lambda c: c.alerts_sent).name
    # strict sees the drift earlier than lenient
    assert by["strict"].lead_windows[0] >= by["lenient"].lead_windows[0]
    path = tmp_path / "calibrated.toml"
    path.write_text(res.policy_toml())
    pol = load_policy(path)
    assert pol.value("psi_warning") == res.recommended.policy.value("psi_warning")


def test_incident_file_and_errors(tmp_path, baseline, make_stream) -> None:
    f = tmp_path / "inc.csv"
    f.write_text("window,feature\n2026-W03,f2\n2026-W04,\n")
    assert read_incidents(f) == [Incident("2026-W03", "f2"), Incident("2026-W04", "concept")]
    with pytest.raises(ConfigError, match="window,feature"):
        read_incidents(tmp_path / "missing.csv")
    frame = make_stream(weeks=2, seed=61)
    with pytest.raises(ConfigError, match="not among the replayed windows"):
        calibrate("m", frame, [Incident("2025-W01", "f2")],
                  candidates={"default": load_policy("default")}, baseline=baseline)


def test_calibrate_command(tmp_path, baseline, make_stream) -> None:
    from click.testing import CliRunner

    from modelsteward.cli.calibrate import command

    bdir = tmp_path / "b"
    baseline.save(bdir)
    data = tmp_path / "hist.parquet"
    make_stream(weeks=5, shift={3: 0.5, 4: 0.7}, seed=62).to_parquet(data)
    inc = tmp_path / "inc.csv"
    inc.write_text("window,feature\n2026-W06,f2\n")
    out = tmp_path / "policy.toml"
    res = CliRunner().invoke(command, ["--model", "m", "--baseline", str(bdir), "--data",
                                       str(data), "--incidents", str(inc), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "recommended:" in res.output and out.exists()
    assert load_policy(out).source("psi_warning") == "file policy.toml"


# issue 14: --log, --since/--until and --policy reach the calibration ---------------------------

WEEK_LABELS = ["2026-W02", "2026-W03", "2026-W04", "2026-W05", "2026-W06", "2026-W07"]


def _fill_log(url: str, frame) -> None:
    import numpy as np

    from modelsteward.store import PredictionLog

    log = PredictionLog(url)
    records = frame.drop(columns=["timestamp", "prediction", "outcome"]).to_dict("records")
    rows = []
    for rec, pred, ts in zip(records, frame["prediction"], frame["timestamp"], strict=True):
        rows += PredictionLog.make_rows("m", "1", [rec], [float(pred)], timestamp=ts.timestamp())
    log.write_rows(rows)
    ids = [r["id"] if isinstance(r, dict) else r[0] for r in rows]
    log.log_outcomes({i: float(y) for i, y in zip(ids, frame["outcome"], strict=True)
                      if not np.isnan(y)})
    log.close()


@pytest.fixture
def history(tmp_path, baseline, make_stream):
    """Six weeks (2026-W02..W07) with f2 drifting from week 4, as a Parquet file and a log."""
    frame = make_stream(weeks=6, per_week=300, shift={3: 0.4, 4: 0.6, 5: 0.8}, seed=63)
    data = tmp_path / "hist.parquet"
    frame.to_parquet(data)
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    _fill_log(url, frame)
    bdir = tmp_path / "b"
    baseline.save(bdir)
    inc = tmp_path / "inc.csv"
    inc.write_text("window,feature\n2026-W06,f2\n")
    return {"data": str(data), "log": url, "baseline": str(bdir), "incidents": str(inc)}


def _run_calibrate(history, tmp_path, *args: str):
    """Run ``steward calibrate`` on the history; its JSON output when --json is passed."""
    import json

    from click.testing import CliRunner

    from modelsteward.cli import main

    out = tmp_path / "out.toml"
    res = CliRunner().invoke(main, ["calibrate", "--model", "m", "--baseline",
                                    history["baseline"], "--incidents", history["incidents"],
                                    "--out", str(out), *args])
    as_json = res.exit_code == 0 and "--json" in args
    return res, (json.loads(res.output) if as_json else None), out


def test_calibrate_command_replays_the_prediction_log(tmp_path, history) -> None:
    res, log_run, out = _run_calibrate(history, tmp_path, "--json", "--log", history["log"])
    assert res.exit_code == 0, res.output
    assert log_run["windows"] == WEEK_LABELS
    assert log_run["recommended"] is not None and out.exists()
    res, file_run, _ = _run_calibrate(history, tmp_path, "--json", "--data", history["data"])
    assert res.exit_code == 0, res.output
    res, _, _ = _run_calibrate(history, tmp_path, "--log", history["log"], "--since",
                               "2026-01-12")
    assert res.exit_code == 0, res.output
    assert "5 windows (2026-W03 .. 2026-W07), grid around preset default" in \
        " ".join(res.output.split()) and "recommended:" in res.output
    # the same rows from the log and from the file give the same scores
    assert [c["alerts_sent"] for c in log_run["candidates"]] == \
        [c["alerts_sent"] for c in file_run["candidates"]]


@pytest.mark.parametrize("args, message", [
    ((), "exactly one of --data"),
    (("--data", "x.parquet", "--log", "sqlite:///x.db"), "exactly one of --data"),
    (("--log", "sqlite:///nowhere/none.db"), "does not exist"),
    (("--log", "predictions.db"), "not a database URL"),
])
def test_calibrate_command_needs_exactly_one_history(tmp_path, history, args,
                                                     message) -> None:
    res, _, _ = _run_calibrate(history, tmp_path, "--json", *args)
    assert res.exit_code == 2 and message in res.output, res.output


@pytest.mark.parametrize("source", ["data", "log"])
def test_calibrate_command_since_until_cut_the_replayed_windows(tmp_path, history,
                                                                source) -> None:
    res, full, _ = _run_calibrate(history, tmp_path, "--json", f"--{source}", history[source])
    assert res.exit_code == 0, res.output
    res, cut, _ = _run_calibrate(history, tmp_path, "--json", f"--{source}", history[source],
                                 "--since", "2026-01-19", "--until", "2026-02-09")
    assert res.exit_code == 0, res.output
    assert full["windows"] == WEEK_LABELS
    assert cut["windows"] == ["2026-W04", "2026-W05", "2026-W06"]
    # fewer windows replayed, never more alerts
    assert sum(c["alerts_sent"] for c in cut["candidates"]) < \
        sum(c["alerts_sent"] for c in full["candidates"])
    res, _, _ = _run_calibrate(history, tmp_path, "--json", f"--{source}", history[source],
                               "--since", "2026-01-26", "--until", "2026-02-02")
    assert res.exit_code == 2 and "2026-W06" in res.output  # the incident is cut away


def test_calibrate_command_grid_starts_from_policy(tmp_path, history) -> None:
    runs = {}
    for start in ("lenient", "strict"):
        res, runs[start], out = _run_calibrate(history, tmp_path, "--json", "--data",
                                               history["data"], "--policy", start)
        assert res.exit_code == 0, res.output
        assert runs[start]["start"] == f"preset {start}"
        text = out.read_text()
        assert f"# started from preset {start};" in text
        assert load_policy(out).value("psi_warning") == \
            {c["name"]: c for c in runs[start]["candidates"]}[runs[start]["recommended"]][
                "thresholds"]["psi_warning"]
    lenient = {c["name"] for c in runs["lenient"]["candidates"]}
    strict = {c["name"] for c in runs["strict"]["candidates"]}
    # the grid is the start's psi_warning x 0.25..2 and its ks_p_value x 0.1, 1
    assert "psi_warning=0.125,ks_p_value=0.0001" in lenient - strict
    assert "psi_warning=0.025,ks_p_value=0.005" in strict - lenient
    team = tmp_path / "team.toml"
    team.write_text('preset = "lenient"\n[thresholds]\nnull_rate = 0.33\npsi_warning = 0.2\n'
                    'psi_critical = 0.6\n')
    res, run, out = _run_calibrate(history, tmp_path, "--json", "--data", history["data"],
                                   "--policy", str(team))
    assert res.exit_code == 0, res.output
    grid = [c for c in run["candidates"] if c["name"].startswith("psi_warning=")]
    assert {c["thresholds"]["null_rate"] for c in grid} == {0.33}  # the file's, not a preset's
    assert {round(c["thresholds"]["psi_critical"] / c["thresholds"]["psi_warning"], 6)
            for c in grid} == {3.0}
    assert "psi_warning=0.1,ks_p_value=0.0001" in {c["name"] for c in grid}
    assert f"# started from file {team};" in out.read_text()


def test_written_policy_names_its_preset() -> None:
    from modelsteward.monitor.calibrate import CalibrationResult, CandidateScore

    pol = load_policy("lenient").with_overrides({"psi_warning": 0.3, "psi_critical": 0.6},
                                                "argument")
    rec = CandidateScore("psi_warning=0.3", pol, 2, 1, 1, (1,), 0)
    text = CalibrationResult((rec,), rec, ("2026-W02", "2026-W03"), "preset lenient") \
        .policy_toml()
    assert 'preset = "lenient"' in text and "2026-W02 .. 2026-W03" in text
    assert "# started from preset lenient;" in text


def test_since_needs_a_time_column(baseline, make_stream) -> None:
    from modelsteward.errors import DataError

    frame = make_stream(weeks=2, seed=64).drop(columns="timestamp")
    with pytest.raises(DataError, match="time column 'timestamp'"):
        calibrate("m", frame, [Incident("1", "f2")], baseline=baseline, window=700,
                  since="2026-01-12")


def test_performance_thresholds_are_calibrated_and_written(tmp_path, baseline,
                                                          make_stream) -> None:
    from modelsteward.monitor.calibrate import default_candidates

    grid = default_candidates("default")
    assert {p.value("performance_alpha") for p in grid.values()} >= {0.01, 0.05}
    # outcomes stop following the predictions from week 4 (index 3): a performance drop only
    frame = make_stream(weeks=5, per_week=500, concept_from=3, seed=64)
    no_corr = {"concept_min_drop": 5.0}  # the correlation test never fires: performance only
    cands = {"wide": load_policy({**no_corr, "performance_alpha": 0.05,
                                  "performance_min_drop": 0.01}),
             "tight": load_policy({**no_corr, "performance_alpha": 0.001})}
    res = calibrate("m", frame, [Incident.parse("2026-W05", "concept")], candidates=cands,
                    baseline=baseline)
    by = {c.name: c for c in res.candidates}
    assert all(c.catches_all for c in by.values())  # performance alerts count for concept
    assert res.recommended is not None
    path = tmp_path / "calibrated.toml"
    path.write_text(res.policy_toml())
    written = load_policy(path)
    assert "performance_alpha" in res.policy_toml()
    for key in ("performance_alpha", "performance_min_drop", "performance_metrics"):
        assert written.value(key) == res.recommended.policy.value(key), key
