"""Issue 12: alert episodes across runs: reminders and acks, late-label alerts carried into
later windows, and a --rerun of a middle range deriving the later episodes again."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from modelsteward.cli import main
from modelsteward.errors import ConfigError
from modelsteward.monitor import run_monitor
from modelsteward.monitor.policy import load_policy
from modelsteward.monitor.state import MonitorState

START = pd.Timestamp("2026-01-05", tz="UTC")


def _week(i: int) -> str:
    return (START + pd.Timedelta(weeks=i)).isoformat()


def _events(notes, feature: str | None = "f2", kind: str | None = None) -> list[tuple]:
    return [(n.window_label, e.event, e.alert.severity) for n in notes for e in n.events
            if (feature is None or e.alert.feature == feature)
            and (kind is None or e.alert.kind == kind)
            and (feature is None or e.alert.alert_type == "distribution")]


def _episode(url: str, feature: str):
    return [e for e in MonitorState.open(url).episodes() if e.feature == feature
            and e.alert_key.startswith("data_drift")]


def test_reminders_for_an_open_critical_episode_until_it_is_acknowledged(
        tmp_path, baseline, make_stream) -> None:
    frame = make_stream(weeks=10, shift={w: 0.9 for w in range(1, 10)}, seed=21)
    # default policy: reminder_every 4 windows
    full = run_monitor("churn", frame, baseline=baseline, sinks=[],
                   state=f"sqlite:///{tmp_path / 'a.db'}", now=_week(10))
    assert _events(full.notifications) == [("2026-W03", "new", "critical"),
                                           ("2026-W07", "reminder", "critical"),
                                           ("2026-W11", "reminder", "critical")]
    reminder = next(n for n in full.notifications if n.window_label == "2026-W07")
    assert "REMINDER" in reminder.text and "not acknowledged" in reminder.text
    # acknowledged after week 3: no reminder is sent any more
    url = f"sqlite:///{tmp_path / 'b.db'}"
    first = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(3))
    (ep,) = _episode(url, "f2")
    MonitorState.open(url).ack(ep.id, "known backfill", by="ana@host")
    rest = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(10))
    assert _events([*first.notifications, *rest.notifications]) == [
        ("2026-W03", "new", "critical")]
    assert [a["ack_by"] for a in rest.acks] == ["ana@host"]
    # reminder_every 0: never
    off = run_monitor("churn", frame, baseline=baseline, sinks=[], policy={"reminder_every": 0},
                  state=f"sqlite:///{tmp_path / 'c.db'}", now=_week(10))
    assert _events(off.notifications) == [("2026-W03", "new", "critical")]
    with pytest.raises(ConfigError, match="reminder_every"):
        load_policy({"reminder_every": 1.5})


def test_an_escalation_after_an_ack_is_sent_and_reminders_resume(tmp_path, baseline,
                                                                 make_stream) -> None:
    frame = make_stream(weeks=10, shift={1: 0.35, 2: 0.35, **{w: 0.9 for w in range(3, 10)}},
                        seed=21)
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(3))
    assert _events(first.notifications) == [("2026-W03", "new", "warning")]
    (ep,) = _episode(url, "f2")
    MonitorState.open(url).ack(ep.id, "looking into it")  # acknowledged at warning
    rest = run_monitor("churn", frame, baseline=baseline, sinks=[], state=url, now=_week(10))
    # critical is above the acknowledged warning: sent, and reminded 4 windows later
    assert _events(rest.notifications) == [("2026-W05", "escalated", "critical"),
                                           ("2026-W09", "reminder", "critical")]
    assert _episode(url, "f2")[0].ack_severity == "warning"


def test_a_late_label_alert_is_carried_into_later_windows(tmp_path, baseline,
                                                          make_stream) -> None:
    """Week 5 (2026-W07) drifts in concept, but its labels come late. Week 6 (2026-W08),
    fully labelled, raises the concept alert first; when week 5's labels arrive the episode
    is found to have opened in 2026-W07: that is sent (once, saying why), 2026-W08 is derived
    again (the episode is open there, not new) and 2026-W09 continues it."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    early = make_stream(weeks=8, concept_from=5, late_weeks={5: 0.03}, seed=11)
    later = make_stream(weeks=8, concept_from=5, late_weeks={5: 0.82}, seed=11)
    common = dict(baseline=baseline, sinks=[], state=url)
    runs = [run_monitor("churn", early, now=_week(6), **common),
            run_monitor("churn", early, now=_week(7), **common)]
    assert _events(runs[1].notifications, None, "concept_drift") == [
        ("2026-W08", "new", "critical")]
    runs.append(run_monitor("churn", later, now=_week(8), **common))
    assert _events(runs[2].notifications, None, "concept_drift") == [
        ("2026-W07", "new", "critical")]
    (late,) = [n for n in runs[2].notifications if n.window_label == "2026-W07"]
    assert late.late_note == "window 2026-W07, now 82% labelled"
    state = MonitorState.open(url)
    concept = [(e.opened_label, e.status) for e in state.episodes()
               if e.alert_key.startswith("concept_drift")]
    assert concept == [("2026-W08", "superseded"), ("2026-W07", "open")]
    results = {r["label"]: r for r in state.window_results(runs[0].target)}
    for label in ("2026-W08", "2026-W09"):
        (a,) = [a for a in results[label]["alerts"] if a["kind"] == "concept_drift"]
        assert a["since_window"] == "2026-W07", label
    assert run_monitor("churn", later, now=_week(8), **common).notifications == ()


def test_rerun_of_a_middle_range_derives_the_later_episodes_again(tmp_path, baseline,
                                                                 make_stream) -> None:
    """f2 shifts in weeks 3-5; week 3's data is then fixed upstream and rerun alone. The
    episode now opens in week 4 (2026-W06): that is sent, the week-3 episode is superseded,
    and the later windows say 'since 2026-W06'; nothing already sent is sent again."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    broken = make_stream(weeks=8, shift={3: 0.9, 4: 0.9, 5: 0.9}, seed=21)
    fixed = make_stream(weeks=8, shift={4: 0.9, 5: 0.9}, seed=21)
    first = run_monitor("churn", broken, baseline=baseline, sinks=[], state=url, now=_week(8))
    assert _events(first.notifications) == [("2026-W05", "new", "critical"),
                                            ("2026-W08", "resolved", "critical")]
    rerun = run_monitor("churn", fixed, baseline=baseline, sinks=[], state=url, now=_week(8),
                    rerun=True, since=_week(3), until=_week(4))
    assert rerun.replaced == ("2026-W05",)
    assert [w.index for w in rerun.windows] == [3]  # the stored window's index, not 0
    assert _events(rerun.notifications) == [("2026-W06", "new", "critical")]
    assert [(e.opened_label, e.status, e.resolved_label) for e in _episode(url, "f2")] == [
        ("2026-W05", "superseded", None), ("2026-W06", "resolved", "2026-W08")]
    results = {r["label"]: r for r in MonitorState.open(url).window_results(first.target)}
    (a,) = [a for a in results["2026-W07"]["alerts"]
            if a["feature"] == "f2" and a["alert_type"] == "distribution"]
    assert a["since_window"] == "2026-W06"
    listed = CliRunner().invoke(main, ["alerts", "list", "--state", url, "--json"])
    assert listed.exit_code == 0, listed.output
    assert "superseded" in {e["status"] for e in json.loads(listed.output)["episodes"]}
    opened = CliRunner().invoke(main, ["alerts", "list", "--open", "--state", url, "--json"])
    assert {e["status"] for e in json.loads(opened.output)["episodes"]} <= {"open"}
    # the same rerun again: nothing new
    again = run_monitor("churn", fixed, baseline=baseline, sinks=[], state=url, now=_week(8),
                    rerun=True, since=_week(3), until=_week(4))
    assert again.notifications == ()


def test_report_and_cli_show_silences_and_acks(tmp_path, baseline, make_stream) -> None:
    bdir = tmp_path / "baseline"
    baseline.save(bdir)
    data = tmp_path / "prod.csv"
    make_stream(weeks=6, shift={w: 0.9 for w in range(1, 6)}, seed=21).to_csv(data, index=False)
    url = f"sqlite:///{tmp_path / 's.db'}"
    args = ["monitor", "--model", "churn", "--baseline", str(bdir), "--data", str(data),
            "--state", url, "--sink", f"jsonl:{tmp_path / 'a.jsonl'}"]
    runner = CliRunner()
    assert runner.invoke(main, [*args, "--now", _week(3)]).exit_code == 0
    (ep,) = _episode(url, "f2")
    MonitorState.open(url).ack(ep.id, "upstream <fix> Monday", by="ana@ops")
    MonitorState.open(url).silence("churn", "plan", "2026-12-31T00:00:00+00:00",
                                   "new pricing plan", by="bo@ops")
    res = runner.invoke(main, [*args, "--now", _week(6), "--report-dir", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    for text in ("silences and acknowledgements", "feature plan", "bo@ops", "2026-12-31",
                 "new pricing plan", f"episode {ep.id}", "ana@ops", "upstream <fix> Monday"):
        assert text in out, text
    doc = json.loads((tmp_path / "r" / "report.json").read_text())
    (s,) = doc["state"]["silences"]
    assert (s["created_by"], s["reason"], s["until"][:10]) == ("bo@ops", "new pricing plan",
                                                               "2026-12-31")
    assert s["created_at"]
    (a,) = doc["state"]["acks"]
    assert (a["ack_by"], a["ack_reason"], a["ack_severity"]) == (
        "ana@ops", "upstream <fix> Monday", "critical") and a["ack_at"]
    html = (tmp_path / "r" / "report.html").read_text()
    section = html[html.index("<h2 id=people>"):]
    for text in ("bo@ops", "new pricing plan", "2026-12-31", s["created_at"], "ana@ops",
                 "upstream &lt;fix&gt; Monday", a["ack_at"]):
        assert text in section, text
