"""Issue 12: with a state store, per-window figures go to one MLflow monitoring run per
target, as step metrics written once (real SQLite MLflow store)."""

from __future__ import annotations

import pandas as pd
import pytest

from modelsteward.monitor import run_monitor
from modelsteward.monitor.sinks import MlflowSink

START = pd.Timestamp("2026-01-05", tz="UTC")


def _week(i: int) -> str:
    return (START + pd.Timedelta(weeks=i)).isoformat()


@pytest.mark.integration
def test_weekly_runs_write_each_window_once_into_one_monitoring_run(
        tmp_path, baseline, make_stream) -> None:
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    state = f"sqlite:///{tmp_path / 'state.db'}"
    early = make_stream(weeks=6, shift={3: 0.9}, late_weeks={5: 0.3}, seed=5)
    later = make_stream(weeks=6, shift={3: 0.9}, late_weeks={5: 0.95}, seed=5)

    def run(frame: pd.DataFrame, now: str, **kw) -> MlflowSink:
        sink = MlflowSink("m", "3", tracking_uri=uri)  # a new process each time, as cron runs
        rep = run_monitor("m", frame, baseline=baseline, model_version="3", sinks=[sink],
                      state=state, now=now, **kw)
        assert not rep.sink_failures, rep.sink_failures
        return sink

    sinks = [run(early, _week(k)) for k in range(2, 7)]  # weekly, then again the same week
    sinks.append(run(early, _week(6)))
    sinks.append(run(early, _week(6), rerun=True, since=_week(2), until=_week(4)))
    sinks.append(run(later, _week(8)))  # week 5's labels arrived: its concept is final now
    sinks.append(run(later, _week(8)))
    client = MlflowClient(tracking_uri=uri)
    assert len({s.run_id for s in sinks} - {None}) == 1  # one monitoring run for the target
    assert sinks[5].run_id is None  # the same week again: nothing to write, MLflow not called
    run_id = sinks[0].run_id
    (exp,) = [e for e in client.search_experiments() if e.name == "modelsteward-monitoring"]
    assert len(client.search_runs([exp.experiment_id])) == 1
    tags = client.get_run(run_id).data.tags
    assert tags["modelsteward.target"].startswith("m|3|default:")
    for metric in ("rows", "psi/f2", "alerts/critical", "concept/coverage"):
        steps = [m.step for m in client.get_metric_history(run_id, metric)]
        assert sorted(steps) == list(range(6)), (metric, steps)  # each window once
    psi = {m.step: m.value for m in client.get_metric_history(run_id, "psi/f2")}
    assert psi[3] > 0.2 > psi[2]
    # the late-labelled window's concept figures were held back until final, then written
    coverage = {m.step: m.value for m in client.get_metric_history(run_id, "concept/coverage")}
    assert coverage[5] == pytest.approx(0.95, abs=0.01)
    # week 3's data is fixed upstream and rerun: only the figures that changed are written
    # again, 1 ms later than the first point, so MLflow's latest value is the re-judged one
    fixed = make_stream(weeks=6, late_weeks={5: 0.95}, seed=5)
    run(fixed, _week(8), rerun=True, since=_week(3), until=_week(4))
    psi_f2 = sorted((m for m in client.get_metric_history(run_id, "psi/f2") if m.step == 3),
                    key=lambda m: m.timestamp)
    assert len(psi_f2) == 2 and psi_f2[1].timestamp == psi_f2[0].timestamp + 1
    assert psi_f2[1].value < 0.1 < psi_f2[0].value
    for metric in ("rows", "psi/f0"):
        assert [m.step for m in client.get_metric_history(run_id, metric)].count(3) == 1, metric
