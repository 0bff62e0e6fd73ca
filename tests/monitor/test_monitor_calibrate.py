"""Calibration: replay, score candidates, recommend the loosest that catches everything."""

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
