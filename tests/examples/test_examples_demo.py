"""The demo's alert timeline matches its planted events."""

from __future__ import annotations

import pytest

from modelsteward.examples.demo import BREAK_WEEK, CONCEPT_FROM, DRIFT_FROM, run_demo, week_label


@pytest.mark.slow
@pytest.mark.integration
def test_demo_timeline_matches_planted_events(tmp_path, quiet_sink) -> None:
    lines: list[str] = []
    res = run_demo(tmp_path / "demo", echo=lines.append,
                   console_sink=quiet_sink)
    first = res.first_alert_week
    # nothing is sent before the first planted event
    labels = [n.window_label for n in res.report.notifications]
    assert min(labels) >= week_label(DRIFT_FROM)
    # the gradual drift is caught within two weeks of its start, the break and the concept
    # drift in their own week
    assert first["data_drift"] is not None and DRIFT_FROM <= first["data_drift"] <= DRIFT_FROM + 2
    assert first["degradation"] == BREAK_WEEK
    assert first["concept_drift"] == CONCEPT_FROM
    # the break is resolved the week after
    resolved = [n for n in res.report.notifications if n.window_label == week_label(BREAK_WEEK + 1)]
    assert resolved and all(e.event == "resolved" for e in resolved[0].events
                            if e.alert.kind == "degradation")
    # late labels: the last week is only partly labelled
    assert res.report.concept[-1].coverage < 0.5
    # rolled back to the first version; report and alerts written
    assert res.production_after == res.versions["v1"]
    assert res.paths["html"].exists() and (res.workdir / "alerts.jsonl").exists()
    assert any("planted" in line for line in lines)

